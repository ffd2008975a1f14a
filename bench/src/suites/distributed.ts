import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor } from '@errand/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  fixture,
  percentile,
  quick,
  type Result,
  ROUNDS_PER_MS,
  scriptedSupervisor,
  sleep,
  steerThenCancel,
} from '../harness.js';

const REDIS_URL = process.env.ERRAND_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BIN = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));
const SUITE = 'distributed';

/** CPU-bound agents: `slices` tool calls of about 10 ms of work each. */
const cpuTurns = (slices: number) => [
  ...Array.from({ length: slices }, () => ({
    toolCalls: [{ name: 'burn', arguments: { rounds: 10 * ROUNDS_PER_MS } }],
  })),
  { text: 'done' },
];

/** The workers' config: a trivial model, CPU agents, a long checkpointing agent, the bench toolset. */
function workerConfig(slices: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'errand-bench-')), 'errand.json');
  writeFileSync(
    path,
    JSON.stringify({
      model: { provider: 'scripted', turns: [{ text: 'ok' }] },
      models: {
        cpu: { provider: 'scripted', turns: cpuTurns(slices) },
        // Burns in 1 ms checkpoints for up to a minute: steering and cancel land at its next checkpoint.
        burn: {
          provider: 'scripted',
          turns: [{ toolCalls: [{ name: 'burn', arguments: { rounds: 60_000 * ROUNDS_PER_MS } }] }],
        },
        // An iteration (and a checkpoint) every ~20 ms, for a long time.
        long: {
          provider: 'scripted',
          turns: [{ toolCalls: [{ name: 'burn', arguments: { rounds: 10 * ROUNDS_PER_MS } }], delayMs: 10 }],
          loop: true,
        },
      },
      toolsets: { bench: fixture('bench-toolset') },
      limits: { maxIterations: 100_000 },
      pool: { minThreads: 1 },
    }),
  );
  return path;
}

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
}

async function startWorker(queue: string, config: string, args: string[]): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--redis', REDIS_URL, '--queue', queue, '--config', config, ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('errand worker ready:')) resolve();
    });
    exited.then(() => reject(new Error(`errand worker exited: ${text}`)));
  });
  return { child, exited };
}

async function stop(workers: WorkerProcess[]): Promise<void> {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
}

async function dropQueue(client: Redis, queue: string): Promise<void> {
  for (const pattern of [`errand:${queue}:*`, `bull:${queue}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  }
}

function supervisorOn(queue: string): Supervisor {
  return new Supervisor({
    model: { provider: 'scripted', turns: [{ text: 'unused' }] },
    executor: { kind: 'bullmq', connection: REDIS_URL, queue },
    limits: { maxTasksPerSession: 100_000, maxQueued: 100_000, cancelGraceMs: 1_000 },
  });
}

/** Trivial tasks per second through errand with `workers` worker processes of concurrency 8. */
async function errandThroughput(
  client: Redis,
  count: number,
  workers: number,
  config: string,
): Promise<number> {
  const queue = `bench-${randomUUID().slice(0, 8)}`;
  const started = await Promise.all(
    Array.from({ length: workers }, () => startWorker(queue, config, ['--concurrency', '8'])),
  );
  const supervisor = supervisorOn(queue);
  try {
    const session = supervisor.session('bench');
    // Warm the workers' threads.
    await Promise.all(
      Array.from({ length: 16 }, () =>
        session.collect(session.delegate({ goal: 'warm' }), { timeoutMs: 60_000 }),
      ),
    );
    const begin = performance.now();
    const ids = Array.from({ length: count }, () => session.delegate({ goal: 'trivial' }));
    await Promise.all(ids.map((id) => session.collect(id, { timeoutMs: 120_000 })));
    return count / ((performance.now() - begin) / 1000);
  } finally {
    await supervisor.close();
    await stop(started);
    await dropQueue(client, queue);
  }
}

/** Empty jobs per second through raw BullMQ: one worker of concurrency 8, jobs added one by one. */
async function rawThroughput(client: Redis, count: number): Promise<number> {
  const name = `bench-raw-${randomUUID().slice(0, 8)}`;
  const connection = {
    host: new URL(REDIS_URL).hostname,
    port: Number(new URL(REDIS_URL).port || 6379),
    maxRetriesPerRequest: null,
  };
  const queue = new Queue(name, { connection });
  let done = 0;
  let finish: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker(name, async () => 'ok', { connection, concurrency: 8 });
  worker.on('completed', () => {
    done += 1;
    if (done === count + 16) finish();
  });
  try {
    await worker.waitUntilReady();
    await Promise.all(Array.from({ length: 16 }, () => queue.add('warm', {}, { removeOnComplete: true })));
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: count }, () => queue.add('empty', {}, { removeOnComplete: true })),
    );
    await all;
    return count / ((performance.now() - begin) / 1000);
  } finally {
    await worker.close();
    await queue.close();
    await dropQueue(client, name);
  }
}

/** Wall time of `agents` CPU-bound agents on 2 worker processes (concurrency 1 each) vs local Piscina (2 threads). */
async function cpuRatio(
  client: Redis,
  agents: number,
  slices: number,
  config: string,
): Promise<{ local: number; remote: number }> {
  const local = scriptedSupervisor(cpuTurns(slices), { pool: { maxThreads: 2, minThreads: 2 } });
  const localSession = local.session('cpu');
  await Promise.all(
    [0, 1].map(() => localSession.collect(localSession.delegate({ goal: 'warm', toolsets: ['bench'] }))),
  );
  let begin = performance.now();
  await Promise.all(
    Array.from({ length: agents }, () =>
      localSession.collect(
        localSession.delegate({ goal: 'cpu', toolsets: ['bench'], maxIterations: slices + 1 }),
        {
          timeoutMs: 300_000,
        },
      ),
    ),
  );
  const localMs = performance.now() - begin;
  await local.close();

  const queue = `bench-cpu-${randomUUID().slice(0, 8)}`;
  const workers = await Promise.all([0, 1].map(() => startWorker(queue, config, ['--concurrency', '1'])));
  const supervisor = supervisorOn(queue);
  try {
    const session = supervisor.session('cpu');
    await Promise.all(
      [0, 1].map(() => session.collect(session.delegate({ goal: 'warm' }), { timeoutMs: 60_000 })),
    );
    begin = performance.now();
    await Promise.all(
      Array.from({ length: agents }, () =>
        session.collect(session.delegate({ goal: 'cpu', model: 'cpu', maxIterations: slices + 1 }), {
          timeoutMs: 300_000,
        }),
      ),
    );
    return { local: localMs, remote: performance.now() - begin };
  } finally {
    await supervisor.close();
    await stop(workers);
    await dropQueue(client, queue);
  }
}

/** steer → steer_ack and cancel → terminal across processes, and how soon a second supervisor's view sees a task. */
async function control(client: Redis, rounds: number, config: string) {
  const queue = `bench-control-${randomUUID().slice(0, 8)}`;
  const workers = [await startWorker(queue, config, ['--concurrency', '2'])];
  const supervisor = supervisorOn(queue);
  const watcher = supervisorOn(queue);
  const steer: number[] = [];
  const cancel: number[] = [];
  const view: number[] = [];
  try {
    const session = supervisor.session('control');
    const other = watcher.session('control');
    await sleep(200);
    for (let round = 0; round < rounds; round++) {
      const delegated = performance.now();
      const id = session.delegate({ goal: 'burn', model: 'burn' });
      while (!other.list().some((row) => row.id === id))
        await new Promise((resolve) => setImmediate(resolve));
      view.push(performance.now() - delegated);
      while (session.check(id).status !== 'running') await sleep(2);
      await sleep(20);
      const { steerMs, cancelMs } = await steerThenCancel(supervisor, session, id);
      steer.push(steerMs);
      cancel.push(cancelMs);
    }
    return { steer, cancel, view };
  } finally {
    await supervisor.close();
    await watcher.close();
    await stop(workers);
    await dropQueue(client, queue);
  }
}

/** From SIGKILL of the worker running a checkpointing agent to its next iteration on another worker. */
async function killToResumed(client: Redis, config: string, stalledMs: number): Promise<number> {
  const queue = `bench-kill-${randomUUID().slice(0, 8)}`;
  const args = ['--concurrency', '1', '--stalled-interval-ms', String(stalledMs)];
  const doomed = await startWorker(queue, config, args);
  const supervisor = supervisorOn(queue);
  const workers = [doomed];
  try {
    const session = supervisor.session('kill');
    const id = session.delegate({ goal: 'long', model: 'long', maxIterations: 1_000 });
    while (session.check(id).iterations < 3) await sleep(5);
    workers.push(await startWorker(queue, config, args));
    const before = session.check(id).iterations;
    const killed = performance.now();
    doomed.child.kill('SIGKILL');
    // The run on the dead worker may still report a step or two on its way out: wait for clear progress.
    while (session.check(id).iterations < before + 3) await sleep(5);
    const resumed = performance.now() - killed;
    await session.cancel(id);
    return resumed;
  } finally {
    await supervisor.close();
    await stop(workers);
    await dropQueue(client, queue);
  }
}

/**
 * The scale-out suite: errand on BullMQ against raw BullMQ and against the local executor, all in this run, on
 * the same Redis. Needs Redis (at ERRAND_BENCH_REDIS_URL, default 127.0.0.1:6379) and the built CLI.
 */
export async function distributed(): Promise<Result[]> {
  const client = new Redis(REDIS_URL, {
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.ping();
  } catch (error) {
    return [
      {
        suite: SUITE,
        metric: `skipped: Redis unreachable at ${REDIS_URL} (${(error as Error).message})`,
        value: Number.NaN,
        unit: '',
      },
    ];
  }
  try {
    const count = quick ? 50 : 1_000;
    const slices = quick ? 5 : 50;
    const config = workerConfig(slices);
    const raw = await rawThroughput(client, count);
    const one = await errandThroughput(client, count, 1, config);
    const two = await errandThroughput(client, count, 2, config);
    const cpu = await cpuRatio(client, quick ? 2 : 4, slices, config);
    const latency = await control(client, quick ? 3 : 20, config);
    const stalledMs = 1_000;
    const resumed = await killToResumed(client, config, stalledMs);
    const steer50 = percentile(latency.steer, 50);
    const cancel50 = percentile(latency.cancel, 50);
    return [
      {
        suite: SUITE,
        metric: 'trivial tasks/s, raw BullMQ (empty processor, concurrency 8)',
        value: raw,
        unit: 'tasks/s',
      },
      {
        suite: SUITE,
        metric: 'trivial tasks/s, errand, 1 worker process (concurrency 8)',
        value: one,
        unit: 'tasks/s',
        baseline: { name: 'raw BullMQ', value: raw },
        ratio: one / raw,
        target: '≥ 0.5× raw BullMQ',
        met: one / raw >= 0.5,
      },
      {
        suite: SUITE,
        metric: 'trivial tasks/s, errand, 2 worker processes',
        value: two,
        unit: 'tasks/s',
        baseline: { name: 'raw BullMQ', value: raw },
        ratio: two / raw,
        target: '≥ 0.5× raw BullMQ',
        met: two / raw >= 0.5,
      },
      {
        suite: SUITE,
        metric: `CPU-bound agents (${quick ? 2 : 4} × ${slices} × 10 ms), 2 worker processes`,
        value: cpu.remote,
        unit: 'ms',
        baseline: { name: 'local piscina, 2 threads', value: cpu.local },
        ratio: cpu.local / cpu.remote,
        target: '≈ 1× local',
        met: cpu.local / cpu.remote >= 0.8,
      },
      {
        suite: SUITE,
        metric: 'steer → steer_ack across processes p50',
        value: steer50,
        unit: 'ms',
        target: '≤ 10 ms',
        met: steer50 <= 10,
      },
      {
        suite: SUITE,
        metric: 'cancel → terminal across processes p50',
        value: cancel50,
        unit: 'ms',
        target: '≤ 10 ms',
        met: cancel50 <= 10,
      },
      {
        suite: SUITE,
        metric: "another supervisor's view sees a new task, p50 (view staleness)",
        value: percentile(latency.view, 50),
        unit: 'ms',
      },
      {
        suite: SUITE,
        metric: `SIGKILL → resumed on another worker (stalled interval ${stalledMs} ms)`,
        value: resumed,
        unit: 'ms',
        target: `≤ 2 × stalled interval + 1 s`,
        met: resumed <= 2 * stalledMs + 1_000,
      },
    ];
  } finally {
    client.disconnect();
  }
}
