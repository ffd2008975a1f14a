import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type SupervisorOptions } from '@errand/core';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { fixture } from '../helpers.js';

/** Where the tests find Redis (the project's machines run it there). */
export const REDIS_URL = process.env.ERRAND_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

async function reachable(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: string | undefined;
  client.on('error', (error: Error) => {
    cause ??= error.message;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return cause ?? (error as Error).message;
  } finally {
    client.disconnect();
  }
}

const unreachable = await reachable();
if (unreachable && !process.env.CI)
  console.log(`skipping the scale-out tests: Redis is unreachable at ${REDIS_URL} (${unreachable})`);

/**
 * `describe` for tests that need Redis: skipped with one line saying why when Redis is unreachable, except
 * under CI, where the suite fails instead.
 */
export function describeRedis(name: string, body: () => void): void {
  if (!unreachable) describe(name, body);
  else if (process.env.CI)
    describe(name, () => {
      it('needs Redis', () => {
        throw new Error(`CI is set and Redis is unreachable at ${REDIS_URL}: ${unreachable}`);
      });
    });
  else describe.skip(name, body);
}

/** A queue name of its own for one test. */
export function queueName(label: string): string {
  return `t-${label}-${randomUUID().slice(0, 8)}`;
}

/** A plain client for assertions and cleanup. */
export function redisClient(): Redis {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  client.on('error', () => {});
  return client;
}

/** Deletes every key of a queue (errand's and BullMQ's). */
export async function dropQueue(queue: string): Promise<void> {
  const client = redisClient();
  try {
    for (const pattern of [`errand:${queue}:*`, `bull:${queue}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

/** The worker config the tests use: scripted profiles and the whoami and echo toolsets. */
export function workerConfig(extra: Record<string, unknown> = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'errand-worker-'));
  const path = join(folder, 'errand.json');
  const config = {
    model: { provider: 'scripted', turns: [{ text: 'done' }] },
    models: {
      // One tool call that names the worker's pid, then an answer.
      whoami: {
        provider: 'scripted',
        turns: [{ toolCalls: [{ name: 'whoami', arguments: { napMs: 20 } }] }, { text: 'done' }],
      },
      // Never ends by itself: an iteration (and a checkpoint) every 50 ms.
      forever: {
        provider: 'scripted',
        turns: [{ toolCalls: [{ name: 'whoami', arguments: {} }], delayMs: 50 }],
        loop: true,
      },
      // 5,000 output lines from one tool call.
      lines: {
        provider: 'scripted',
        turns: [{ toolCalls: [{ name: 'lines', arguments: { count: 5_000 } }] }, { text: 'done' }],
      },
      // One long model turn: no checkpoint for 8 s.
      sleepy: { provider: 'scripted', turns: [{ delayMs: 8_000, text: 'late' }] },
      // About 1.5 s in 15 iterations, each ending in a checkpoint; a resumed run makes only the calls left.
      steady: {
        provider: 'module',
        specifier: fixture('steady-model.mjs'),
        options: { steps: 15, napMs: 100 },
      },
      // The same, about 6 s in 60 iterations.
      long: {
        provider: 'module',
        specifier: fixture('steady-model.mjs'),
        options: { steps: 60, napMs: 100 },
      },
    },
    toolsets: { whoami: fixture('whoami-toolset.mjs'), echo: fixture('echo-toolset.mjs') },
    pool: { minThreads: 0 },
    ...extra,
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** A running `errand worker` process. */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
}

const started = new Set<WorkerProcess>();

/** Starts `errand worker` (built output) and resolves once it printed its ready line. */
export async function startWorker(
  queue: string,
  config: string,
  args: string[] = [],
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--redis', REDIS_URL, '--queue', queue, '--config', config, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: '' } },
  );
  let text = '';
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('errand worker ready:')) resolve();
    });
    exited.then(() => reject(new Error(`errand worker exited before it was ready: ${text}`)));
  });
  const worker: WorkerProcess = { child, pid: child.pid!, stderr: () => text, exited };
  started.add(worker);
  await ready;
  return worker;
}

/** Kills every worker a test started that is still running. */
export async function stopWorkers(): Promise<void> {
  await Promise.all(
    [...started].map(async (worker) => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await worker.exited;
    }),
  );
  started.clear();
}

/** Pids named in a snapshot's output (`← pid N`). */
export function pidsIn(lines: readonly string[]): number[] {
  return lines.flatMap((line) => [...line.matchAll(/pid (\d+)/g)].map((match) => Number(match[1])));
}

const supervisors: Supervisor[] = [];
const queues: string[] = [];

/** A supervisor on `queue` (closed by `cleanUp`). Models and toolsets are the workers' business. */
export function supervisorOn(queue: string, extra: Partial<SupervisorOptions> = {}): Supervisor {
  const supervisor = new Supervisor({
    model: { provider: 'scripted', turns: [{ text: 'unused: workers resolve models' }] },
    executor: { kind: 'bullmq', connection: REDIS_URL, queue },
    ...extra,
  });
  supervisors.push(supervisor);
  return supervisor;
}

/** A queue of the test's own, dropped by `cleanUp`. */
export function newQueue(label: string): string {
  const queue = queueName(label);
  queues.push(queue);
  return queue;
}

/** Closes the test's supervisors, kills its workers and deletes its queues' keys. */
export async function cleanUp(): Promise<void> {
  await Promise.all(supervisors.splice(0).map((supervisor) => supervisor.close()));
  await stopWorkers();
  await Promise.all(queues.splice(0).map(dropQueue));
}
