import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore, Supervisor, type SupervisorOptions } from '@errand/core';
import { text } from '../fixtures/bench-toolset.js';
import {
  fixture,
  fixturePath,
  gc,
  loopDelayP99,
  percentile,
  quick,
  type Result,
  scriptedSupervisor,
  sleep,
} from '../harness.js';

/** The same shape as the dispatch suite: trivial one-turn tasks on 4 threads. */
const THREADS = 4;
const AGENTS = 8;

type Store = NonNullable<SupervisorOptions['store']>;

/** A fresh folder per SQLite run, removed by `cleanUp`. */
const folders: string[] = [];
function freshPath(): string {
  const folder = mkdtempSync(join(tmpdir(), 'errand-bench-store-'));
  folders.push(folder);
  return join(folder, 'tasks.db');
}
function cleanUp(): void {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
}

/** The database file plus its WAL, in bytes. */
function fileBytes(path: string): number {
  const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
  return statSync(path).size + (wal?.size ?? 0);
}

/** Trivial tasks per second through a supervisor on `store` (after an untimed warm-up round). */
async function throughput(store: Store, tasks: number, warmUp: number): Promise<number> {
  const supervisor = scriptedSupervisor([{ text: 'ok' }], {
    store,
    pool: { maxThreads: THREADS, minThreads: THREADS },
  });
  const session = supervisor.session('bench');
  await Promise.all(
    Array.from({ length: warmUp }, () => session.collect(session.delegate({ goal: 'warm' }))),
  );
  gc();
  const start = performance.now();
  const ids = Array.from({ length: tasks }, () => session.delegate({ goal: 'g' }));
  await Promise.all(ids.map((id) => session.collect(id)));
  const perSecond = tasks / ((performance.now() - start) / 1000);
  await supervisor.close();
  return perSecond;
}

/**
 * Main-thread time of the engine's write path for one checkpoint: `saveCheckpoint` (what the engine calls
 * when a worker hands one over) and the store's hand-over to its writer thread (what the end of that tick
 * runs), timed together; the writer's transaction is awaited untimed before the next one, so each checkpoint
 * is written on its own, as agents checkpointing tens of milliseconds apart are. Checkpoints are conversations of 20–100 KB of JSON, serialised
 * beforehand as the worker does; `AGENTS` tasks take turns, so each write replaces that task's previous
 * checkpoint, as in a run.
 */
async function checkpointWrites(count: number): Promise<{ times: number[]; bytes: number }> {
  const path = freshPath();
  const store: SqliteStore = openSqliteStore(path, { retainFinished: 1_000 });
  const now = Date.now();
  const ids = Array.from({ length: AGENTS }, (_, index) => `ckpt-${index}`);
  for (const id of ids) {
    store.create({
      id,
      sessionId: 'bench',
      status: 'running',
      goal: { goal: 'checkpoint', maxIterations: 1_000 } as never,
      depth: 0,
      createdAt: now,
      startedAt: now,
      iterations: 0,
      steering: { sent: 0, delivered: 0 },
      outputLines: 0,
      droppedLines: 0,
      transitions: [
        { status: 'queued', at: now },
        { status: 'running', at: now },
      ],
    });
  }
  await store.flush();
  // 41 sizes from 20 KB to 100 KB; each a conversation of assistant turns and tool replies.
  const conversations = Array.from({ length: 41 }, (_, step) => {
    const messages: unknown[] = [{ role: 'user', content: 'checkpoint' }];
    const target = 20_000 + step * 2_000;
    for (let turn = 0; JSON.stringify(messages).length < target; turn++) {
      messages.push({
        role: 'assistant',
        content: text(1_000, turn),
        toolCalls: [{ id: `call${turn}`, name: 'read', arguments: { chars: 1_500, seed: turn } }],
      });
      messages.push({ role: 'tool', toolCallId: `call${turn}`, content: text(1_500, turn + 1) });
    }
    return JSON.stringify(messages);
  });
  const times: number[] = [];
  let bytes = 0;
  for (let index = 0; index < count; index++) {
    const messages = conversations[index % conversations.length]!;
    bytes += messages.length;
    const before = performance.now();
    store.saveCheckpoint(ids[index % AGENTS]!, { iterations: index, messages });
    const written = store.flush();
    times.push(performance.now() - before);
    await written;
  }
  await store.close();
  return { times, bytes };
}

/**
 * Host event-loop p99 while `AGENTS` agents each make a tool call every turn after 50 ms of model latency, so
 * the engine saves a checkpoint (growing by about 2.5 KB a turn) after every iteration. Returns the p99 and
 * the largest final conversation, in characters.
 */
async function checkpointingAgents(store: Store, steps: number): Promise<{ p99: number; chars: number }> {
  const model = fixture('checkpoint-model');
  const supervisor = new Supervisor({
    model: { provider: 'module', specifier: model, options: { steps: 2 } },
    models: { agent: { provider: 'module', specifier: model, options: { steps, delayMs: 50 } } },
    toolsets: { bench: fixture('bench-toolset') },
    store,
    pool: { maxThreads: AGENTS, minThreads: AGENTS },
  });
  const session = supervisor.session('agents');
  // Every thread loads the model and toolset before timing.
  await Promise.all(
    Array.from({ length: AGENTS * 2 }, () => session.collect(session.delegate({ goal: 'warm' }))),
  );
  gc();
  let chars = 0;
  const p99 = await loopDelayP99(async () => {
    const ids = Array.from({ length: AGENTS }, () =>
      session.delegate({ goal: 'work', model: 'agent', maxIterations: steps + 1 }),
    );
    for (const id of ids) {
      const snapshot = await session.collect(id);
      if (snapshot.status !== 'completed') throw new Error(`agent ended ${snapshot.status}`);
      chars = Math.max(chars, Number(/\d+/.exec(snapshot.result ?? '')?.[0] ?? 0));
    }
  });
  await supervisor.close();
  return { p99, chars };
}

/** Runs the host fixture on `path` until it has filled the store, then SIGKILLs it. */
function fillByCrashedHost(path: string, finished: number, unfinished: number): Promise<void> {
  const child = spawn(
    process.execPath,
    [fixturePath('store-host'), path, String(finished), String(unfinished)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  return new Promise((resolve, reject) => {
    let ready = false;
    child.stdout.on('data', (data: Buffer) => {
      if (ready || !data.toString().includes('ready')) return;
      ready = true;
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    child.once('exit', (code) => {
      if (!ready) reject(new Error(`store host exited (${code}) before it was ready: ${stderr}`));
    });
  });
}

/**
 * Time from `new Supervisor({ store: sqlite })` on a file a SIGKILLed host left (WAL not checkpointed, tasks
 * still running or queued) to the moment every session's `list()` has answered, which is when the host can
 * serve its users again: opening the file, recovering the WAL, loading every record, ending the unfinished
 * ones `interrupted` and listing them. Each restart runs on its own copy of the same file.
 */
async function restarts(
  source: string,
  total: number,
  unfinished: number,
  rounds: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const path = freshPath();
    copyFileSync(source, path);
    if (existsSync(`${source}-wal`)) copyFileSync(`${source}-wal`, `${path}-wal`);
    gc();
    const start = performance.now();
    const supervisor = new Supervisor({
      model: { provider: 'scripted', turns: [{ text: 'ok' }] },
      toolsets: { bench: fixture('bench-toolset') },
      store: { kind: 'sqlite', path },
      limits: { retainFinished: total },
    });
    let listed = 0;
    let interrupted = 0;
    for (let index = 0; index < AGENTS; index++) {
      for (const summary of supervisor.session(`restart-${index}`).list()) {
        listed += 1;
        if (summary.status === 'interrupted') interrupted += 1;
      }
    }
    times.push(performance.now() - start);
    await supervisor.close();
    if (listed !== total || interrupted !== unfinished)
      throw new Error(
        `restart listed ${listed} tasks (${interrupted} interrupted), expected ${total} (${unfinished})`,
      );
  }
  return times;
}

/** The SQLite store against the memory store, measured in the same run. */
export async function store(): Promise<Result[]> {
  const results: Result[] = [];
  try {
    // Dispatch: alternating rounds, median of each side (one round of a second or two moves ±10 % here).
    const tasks = quick ? 500 : 5_000;
    const warmUp = quick ? 100 : 1_000;
    const rounds = quick ? 1 : 3;
    const memoryRates: number[] = [];
    const sqliteRates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      memoryRates.push(await throughput({ kind: 'memory' }, tasks, warmUp));
      sqliteRates.push(await throughput({ kind: 'sqlite', path: freshPath() }, tasks, warmUp));
    }
    const memoryRate = percentile(memoryRates, 50);
    const sqliteRate = percentile(sqliteRates, 50);
    results.push({
      suite: 'store',
      metric: `dispatch throughput with SQLite (trivial tasks, ${THREADS} threads, median of ${rounds})`,
      value: sqliteRate,
      unit: 'tasks/s',
      baseline: { name: 'memory store', value: memoryRate },
      ratio: sqliteRate / memoryRate,
      target: '≥ 0.7× memory store',
      met: sqliteRate / memoryRate >= 0.7,
    });

    // Checkpoint writes, timed on the main thread.
    const writes = await checkpointWrites(quick ? 200 : 2_000);
    const p50 = percentile(writes.times, 50);
    const p99 = percentile(writes.times, 99);
    const kb = Math.round(writes.bytes / writes.times.length / 1024);
    results.push(
      {
        suite: 'store',
        metric: `checkpoint write p50: saveCheckpoint + flush, 20–100 KB (mean ${kb} KB), ${writes.times.length} writes`,
        value: p50 * 1000,
        unit: 'µs',
        target: 'report',
        met: true,
      },
      {
        suite: 'store',
        metric: `checkpoint write p99: saveCheckpoint + flush, 20–100 KB (max ${Math.max(...writes.times).toFixed(2)} ms)`,
        value: p99 * 1000,
        unit: 'µs',
        target: '≤ 1 ms',
        met: p99 <= 1,
      },
    );

    // Event loop with 8 checkpointing agents, memory vs SQLite, alternating.
    const steps = quick ? 8 : 40;
    const loopRounds = quick ? 1 : 3;
    const memoryP99s: number[] = [];
    const sqliteP99s: number[] = [];
    let chars = 0;
    for (let round = 0; round < loopRounds; round++) {
      memoryP99s.push((await checkpointingAgents({ kind: 'memory' }, steps)).p99);
      const run = await checkpointingAgents({ kind: 'sqlite', path: freshPath() }, steps);
      sqliteP99s.push(run.p99);
      chars = Math.max(chars, run.chars);
    }
    const memoryP99 = percentile(memoryP99s, 50);
    const sqliteP99 = percentile(sqliteP99s, 50);
    results.push({
      suite: 'store',
      metric: `event-loop p99, ${AGENTS} agents checkpointing every 50 ms (${steps} each, last ≈ ${Math.round(chars / 1024)} KB; median of ${loopRounds})`,
      value: sqliteP99,
      unit: 'ms',
      baseline: { name: 'memory store', value: memoryP99 },
      ratio: sqliteP99 / memoryP99,
      target: '≤ 1.5× memory store',
      met: sqliteP99 / memoryP99 <= 1.5,
    });

    // Restart: a host filled the file and was SIGKILLed; time until every session lists again.
    const total = quick ? 200 : 1_000;
    const unfinished = quick ? 20 : 50;
    const source = freshPath();
    await fillByCrashedHost(source, total - unfinished, unfinished);
    const sourceBytes = fileBytes(source);
    const times = await restarts(source, total, unfinished, quick ? 2 : 6);
    // The first restart in this process also loads better-sqlite3's native module; reported on its own.
    const [first, ...rest] = times;
    const median = percentile(rest, 50);
    results.push(
      {
        suite: 'store',
        metric: `restart → every session listed, ${total} stored tasks (${unfinished} left running/queued by a SIGKILLed host; ${(sourceBytes / 1_048_576).toFixed(1)} MB db+WAL), median of ${rest.length}`,
        value: median,
        unit: 'ms',
        target: '≤ 200 ms',
        met: median <= 200,
      },
      {
        suite: 'store',
        metric: 'restart → listed, first in a process (loads the SQLite native module too)',
        value: first!,
        unit: 'ms',
        target: '≤ 200 ms',
        met: first! <= 200,
      },
    );
  } finally {
    await sleep(50);
    cleanUp();
  }
  return results;
}
