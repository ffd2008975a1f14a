import { resolveOptions } from '@errand/core/seams';
import { describe, expect, it } from 'vitest';
import type { JobGoal } from '../wire.js';
import { resolveJobGoal } from './goal-check.js';

const options = resolveOptions({
  model: { provider: 'scripted', turns: [{ text: 'default' }] },
  models: { fast: { provider: 'scripted', turns: [{ text: 'fast' }] } },
  toolsets: { echo: 'file:///tools/echo.js', files: 'file:///tools/files.js' },
});

const goal = (extra: Partial<JobGoal> = {}): JobGoal => ({
  goal: 'g',
  toolsets: [],
  hostTools: false,
  role: 'worker',
  maxIterations: 5,
  timeoutMs: 1_000,
  ...extra,
});

describe('resolveJobGoal', () => {
  it('resolves toolset and profile names from the worker config', () => {
    const resolved = resolveJobGoal(goal({ toolsets: ['echo'], modelName: 'fast' }), options);
    expect(resolved).toMatchObject({
      goal: {
        toolsets: { echo: { specifier: 'file:///tools/echo.js' } },
        model: { provider: 'scripted', turns: [{ text: 'fast' }] },
        hostTools: false,
      },
    });
  });

  it('gives a goal that named no toolsets every toolset of the worker, and its default model', () => {
    const resolved = resolveJobGoal(goal({ defaultToolsets: true }), options);
    expect('goal' in resolved && Object.keys(resolved.goal.toolsets)).toEqual(['echo', 'files']);
    expect('goal' in resolved && resolved.goal.model).toEqual(options.model);
  });

  it('refuses names the worker does not have, saying what it has', () => {
    expect(resolveJobGoal(goal({ toolsets: ['shell'] }), options)).toEqual({
      refused: `toolsets names "shell", which this worker's config does not allow; allowed: echo, files`,
    });
    expect(resolveJobGoal(goal({ modelName: 'gpt-x' }), options)).toEqual({
      refused: `model names the profile "gpt-x", which this worker's config does not have; profiles: fast`,
    });
  });

  it('refuses what needs the supervisor: orchestrators', () => {
    expect(resolveJobGoal(goal({ role: 'orchestrator' }), options)).toHaveProperty('refused');
  });
});
