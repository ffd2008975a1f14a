import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Session } from '@errand/core';
import { Supervisor, type SupervisorOptions } from '@errand/core';
import { roundsPerMs } from './fixtures/bench-toolset.js';

export const quick = process.argv.includes('--quick');

/** sha256 rounds per millisecond on this machine (measured once, on the idle main thread). */
export const ROUNDS_PER_MS = roundsPerMs();

/** A row of the results table. */
export interface Result {
  suite: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** errand ÷ baseline, or whatever ratio the target is stated in. */
  ratio?: number;
  target?: string;
  met?: boolean;
}

export const fixture = (name: string) => new URL(`./fixtures/${name}.js`, import.meta.url).href;
export const fixturePath = (name: string) => fileURLToPath(fixture(name));

export function scriptedSupervisor(turns: unknown[], options: Partial<SupervisorOptions> = {}): Supervisor {
  return new Supervisor({
    model: { provider: 'scripted', turns: turns as never, loop: false },
    toolsets: { bench: fixture('bench-toolset') },
    ...options,
    limits: { maxTasksPerSession: 100_000, maxQueued: 100_000, ...options.limits },
    pool: { minThreads: 2, ...options.pool },
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Event-loop delay p99 (ms) on this thread while `work` runs. */
export async function loopDelayP99(work: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await work();
  histogram.disable();
  return histogram.percentile(99) / 1e6;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Steers running task `id` and waits for `supervisor`'s steer-delivered event, then cancels it and waits for the
 * terminal state: the two latencies, in milliseconds.
 */
export async function steerThenCancel(
  supervisor: Supervisor,
  session: Session,
  id: string,
): Promise<{ steerMs: number; cancelMs: number }> {
  const delivered = new Promise<number>((resolve) =>
    supervisor.once('steer-delivered', () => resolve(performance.now())),
  );
  const sent = performance.now();
  session.steer(id, 'faster');
  const steerMs = (await delivered) - sent;
  const before = performance.now();
  await session.cancel(id);
  return { steerMs, cancelMs: performance.now() - before };
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    platform: process.platform,
  };
}
