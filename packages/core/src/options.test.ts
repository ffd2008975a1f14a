import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, resolveOptions, resolveSpecifier } from './options.js';

const model = { provider: 'scripted' as const, turns: [{ text: 'x' }] };

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveOptions({ model });
    expect(resolved.limits).toEqual(DEFAULT_LIMITS);
    expect(resolved.limits).toMatchObject({
      maxGoalChars: 20_000,
      maxSteerChars: 4_000,
      maxTasksPerSession: 16,
      maxQueued: 1_000,
      retainFinished: 1_000,
      cancelGraceMs: 2_000,
      outputLines: 200,
      outputLineChars: 500,
      defaultTimeoutMs: 30 * 60_000,
    });
    expect(resolved.pool.maxThreads).toBeGreaterThanOrEqual(8);
  });

  it('names the offending option', () => {
    expect(() => resolveOptions({ model, limits: { outputLines: 0 } })).toThrow(
      /options\.limits\.outputLines/,
    );
    expect(() => resolveOptions({ model, pool: { maxThreads: 1.5 } })).toThrow(/options\.pool\.maxThreads/);
    expect(() => resolveOptions({ model: { provider: 'nope' } as never })).toThrow(/options\.model/);
    expect(() => resolveOptions({ model, limits: { typo: 1 } as never })).toThrow(/options\.limits/);
  });

  it('takes Piscina-style resourceLimits and idleTimeout too', () => {
    const { pool } = resolveOptions({
      model,
      pool: { idleTimeout: 5, resourceLimits: { maxOldGenerationSizeMb: 64 } },
    });
    expect(pool.idleTimeoutMs).toBe(5);
    expect(pool.resourceLimits).toEqual({ maxOldGenerationSizeMb: 64 });
    expect(resolveOptions({ model, pool: { maxOldGenerationSizeMb: 32 } }).pool.resourceLimits).toEqual({
      maxOldGenerationSizeMb: 32,
    });
  });

  it('keeps minThreads within maxThreads', () => {
    expect(resolveOptions({ model, pool: { maxThreads: 1 } }).pool.minThreads).toBe(1);
  });
});

describe('resolveSpecifier', () => {
  it('turns paths into file URLs, keeps URLs, and resolves package names from the cwd', () => {
    expect(resolveSpecifier('/tmp/x.mjs')).toBe('file:///tmp/x.mjs');
    expect(resolveSpecifier('file:///tmp/x.mjs')).toBe('file:///tmp/x.mjs');
    expect(resolveSpecifier('vitest')).toMatch(/^file:\/\/.*vitest/);
    expect(resolveSpecifier('no-such-package-xyz')).toBe('no-such-package-xyz');
  });
});
