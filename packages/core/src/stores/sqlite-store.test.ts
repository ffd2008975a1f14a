import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../task-store.js';
import { openSqliteStore, probeStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { release } from './store-lock.js';

let folder: string;
let open: SqliteStore[] = [];

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'errand-sqlite-'));
});

afterEach(async () => {
  for (const store of open) await store.close();
  open = [];
  rmSync(folder, { recursive: true, force: true });
});

function openStore(options: Partial<SqliteStoreOptions> = {}, name = 'tasks.db'): SqliteStore {
  const store = openSqliteStore(join(folder, name), { retainFinished: 100, ...options });
  open.push(store);
  return store;
}

async function reopen(store: SqliteStore, options: Partial<SqliteStoreOptions> = {}): Promise<SqliteStore> {
  await store.close();
  return openStore(options);
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

let counter = 0;
function record(overrides: Partial<TaskRecord> = {}): TaskRecord {
  counter += 1;
  const createdAt = 1_700_000_000_000 + counter;
  return {
    id: `task-${counter}`,
    sessionId: 'session-a',
    status: 'queued',
    goal: {
      goal: 'summarise the repository',
      toolsets: { files: { specifier: 'file:///tools/files.js', options: { root: '/srv' } } },
      hostTools: false,
      role: 'worker',
      model: { provider: 'scripted', turns: [{ text: 'done' }] },
      maxIterations: 8,
      timeoutMs: 60_000,
    },
    depth: 0,
    createdAt,
    iterations: 0,
    steering: { sent: 0, delivered: 0 },
    outputLines: 0,
    droppedLines: 0,
    transitions: [{ status: 'queued', at: createdAt }],
    ...overrides,
  };
}

function rowCount(store: SqliteStore, table: 'tasks' | 'checkpoints'): number {
  return probeStore(store, { op: 'count', table }) as number;
}

describe('SqliteStore', () => {
  it('keeps whole records across close and reopen, including a 5,000-line result', async () => {
    const store = openStore();
    const result = Array.from({ length: 5000 }, (_, i) => `line ${i}: ${'x'.repeat(40)}`).join('\n');
    const parent = record({ sessionId: 'session-a' });
    const full = record({
      sessionId: 'session-a',
      parentId: parent.id,
      depth: 1,
      resumedFrom: 'task-earlier',
      goal: {
        goal: 'write the report',
        context: 'for the board',
        toolsets: {},
        hostTools: true,
        role: 'orchestrator',
        modelName: 'fast',
        model: {
          provider: 'openai-compatible',
          baseURL: 'http://127.0.0.1:1/v1',
          model: 'm',
          apiKeyEnv: 'KEY',
        },
        maxIterations: 20,
        timeoutMs: 1000,
        metadata: { ticket: 42, tags: ['a', 'b'], nested: { ok: true } },
      },
      status: 'failed',
      startedAt: 1_700_000_000_500,
      endedAt: 1_700_000_000_900,
      iterations: 3,
      lastText: 'partial',
      usage: { inputTokens: 120, outputTokens: 45 },
      result,
      error: { code: 'tool_error', message: 'the tool failed' },
      exitReason: 'error',
      steering: { sent: 2, delivered: 1 },
      outputLines: 7000,
      droppedLines: 6800,
      output: { firstIndex: 6800, lines: ['first kept', 'ünïcödé ✓', ''] },
      transitions: [
        { status: 'queued', at: 1 },
        { status: 'running', at: 2 },
        { status: 'failed', at: 3 },
      ],
    });
    const other = record({ sessionId: 'session-b' });
    store.create(parent);
    store.create(full);
    store.create(other);
    store.finish(full.id);

    const reopened = await reopen(store);
    expect(reopened.get(full.id)).toEqual(full);
    expect(reopened.get(full.id)?.result).toBe(result);
    expect(reopened.get(parent.id)).toEqual(parent);
    expect([...reopened.ofSession('session-a')].map((r) => r.id)).toEqual([parent.id, full.id]);
    expect([...reopened.ofSession('session-b')].map((r) => r.id)).toEqual([other.id]);
    expect([...reopened.ofSession('nobody')]).toEqual([]);
    expect(reopened.get('missing')).toBeUndefined();
  });

  it('saves the latest status and fields after several patches in one tick', async () => {
    const store = openStore();
    const task = record();
    store.create(task);
    store.update(task.id, { status: 'running', startedAt: 5 });
    store.update(task.id, { iterations: 2, lastText: 'halfway' });
    const reopened = await reopen(store);
    expect(reopened.get(task.id)).toMatchObject({
      status: 'running',
      startedAt: 5,
      iterations: 2,
      lastText: 'halfway',
    });
  });

  it('keeps the latest checkpoint per task, before and after a flush and across reopen', async () => {
    const store = openStore();
    const task = record();
    store.create(task);
    expect(store.checkpoint(task.id)).toBeUndefined();
    store.saveCheckpoint(task.id, { iterations: 1, messages: '[1]' });
    expect(store.checkpoint(task.id)).toEqual({ iterations: 1, messages: '[1]' });
    await tick();
    expect(store.checkpoint(task.id)).toEqual({ iterations: 1, messages: '[1]' });
    store.saveCheckpoint(task.id, { iterations: 2, messages: '[1,2]' });
    expect(store.checkpoint(task.id)).toEqual({ iterations: 2, messages: '[1,2]' });
    store.saveCheckpoint('unknown', { iterations: 1, messages: '[]' });

    const reopened = await reopen(store);
    expect(reopened.checkpoint(task.id)).toEqual({ iterations: 2, messages: '[1,2]' });
    expect(reopened.checkpoint('unknown')).toBeUndefined();
    expect(rowCount(reopened, 'checkpoints')).toBe(1);
  });

  it('finds the records left queued or running by a store that was not closed', async () => {
    const path = join(folder, 'tasks.db');
    const crashed = openSqliteStore(path, { retainFinished: 100 });
    const queued = record();
    const running = record({ status: 'running' });
    const done = record({ status: 'completed', endedAt: 9 });
    for (const task of [queued, running, done]) crashed.create(task);
    crashed.finish(done.id);
    await crashed.flush();
    // Simulates the process dying: the connection goes without the store's close, and with it the lock, as
    // the OS would drop it (sqlite-file.test.ts SIGKILLs a real process).
    probeStore(crashed, { op: 'drop-connection' });
    release(join(realpathSync(folder), 'tasks.db'));

    const reopened = openStore();
    expect([...reopened.unfinished()].map((r) => r.id).sort()).toEqual([queued.id, running.id].sort());
    expect(reopened.get(done.id)?.status).toBe('completed');
  });

  it('writes on the next tick, in one batch, or at once when maxBatch writes are pending', async () => {
    const store = openStore();
    store.create(record());
    store.create(record());
    expect(rowCount(store, 'tasks')).toBe(0);
    await tick();
    expect(rowCount(store, 'tasks')).toBe(2);

    const batched = openStore({ maxBatch: 10 }, 'batched.db');
    for (let i = 0; i < 9; i += 1) batched.create(record());
    expect(rowCount(batched, 'tasks')).toBe(0);
    batched.create(record());
    expect(rowCount(batched, 'tasks')).toBe(10);
  });

  it('close flushes pending writes, releases the file and is idempotent', async () => {
    const store = openStore();
    const task = record();
    store.create(task);
    await store.close();
    await store.close();
    const db = new Database(join(folder, 'tasks.db'), { timeout: 0 });
    try {
      expect(db.prepare('SELECT id FROM tasks').all()).toEqual([{ id: task.id }]);
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: 1 }]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('deletes the oldest finished records with their checkpoints, in the file too', async () => {
    const store = openStore({ retainFinished: 2 });
    const tasks = [record(), record(), record(), record()];
    for (const task of tasks) {
      store.create(task);
      store.saveCheckpoint(task.id, { iterations: 1, messages: `[${task.id}]` });
    }
    await tick();
    // Finished out of creation order: retention follows the order they finished in.
    for (const index of [2, 0, 3]) {
      store.update(tasks[index]!.id, { status: 'completed' });
      store.finish(tasks[index]!.id);
    }
    expect(store.get(tasks[2]!.id)).toBeUndefined();
    expect(store.checkpoint(tasks[2]!.id)).toBeUndefined();
    expect(store.get(tasks[1]!.id)?.status).toBe('queued');
    await store.flush();
    expect(rowCount(store, 'tasks')).toBe(3);
    expect(rowCount(store, 'checkpoints')).toBe(3);

    // Retention at open, in the order they finished.
    const reopened = await reopen(store, { retainFinished: 1 });
    expect(reopened.get(tasks[0]!.id)).toBeUndefined();
    expect(reopened.get(tasks[3]!.id)?.status).toBe('completed');
    expect(reopened.get(tasks[1]!.id)?.status).toBe('queued');
    expect(rowCount(reopened, 'tasks')).toBe(2);
    expect(rowCount(reopened, 'checkpoints')).toBe(2);
    expect(reopened.size).toBe(2);
  });

  it('keeps the order tasks finished in across several reopens', async () => {
    let store = openStore({ retainFinished: 2 });
    const tasks = Array.from({ length: 6 }, () => record());
    const finish = (task: TaskRecord) => {
      store.create(task);
      store.update(task.id, { status: 'completed' });
      store.finish(task.id);
    };
    for (const task of tasks.slice(0, 5)) finish(task);
    store = await reopen(store, { retainFinished: 2 });
    finish(tasks[5]!);
    store = await reopen(store, { retainFinished: 1 });
    expect([...store.ofSession('session-a')].map((task) => task.id)).toEqual([tasks[5]!.id]);
  });

  it('stays bounded over 5,000 tasks with retainFinished 100', async () => {
    const store = openStore({ retainFinished: 100 });
    const path = join(folder, 'tasks.db');
    const messages = JSON.stringify([{ role: 'user', content: 'y'.repeat(10_000) }]);
    const output = { firstIndex: 0, lines: Array.from({ length: 50 }, (_, i) => `output line ${i}`) };
    const fileSize = () => statSync(path).size + statSync(`${path}-wal`, { throwIfNoEntry: false })!.size;
    let sizeAt1000 = 0;
    for (let i = 1; i <= 5000; i += 1) {
      const task = record();
      store.create(task);
      store.saveCheckpoint(task.id, { iterations: 1, messages });
      store.update(task.id, { status: 'completed', output, result: 'r'.repeat(2000) });
      store.finish(task.id);
      if (i % 50 === 0) await tick();
      if (i === 1000) {
        // Measured once the writer thread has caught up, so both sizes hold every write so far.
        await store.flush();
        sizeAt1000 = fileSize();
      }
    }
    await store.flush();
    expect(store.size).toBe(100);
    expect(rowCount(store, 'tasks')).toBe(100);
    expect(rowCount(store, 'checkpoints')).toBe(100);
    const sizeAt5000 = fileSize();
    // Freed pages are reused: the file does not grow with the number of tasks that have run.
    expect(sizeAt5000).toBeLessThanOrEqual(sizeAt1000 * 1.5);
    console.info(`sqlite store: db+wal ${sizeAt1000} bytes after 1,000 tasks, ${sizeAt5000} after 5,000`);
  });
});

describe('SqliteStore write failures', () => {
  it('reports a batch that cannot be written (connection gone) once, never throws, keeps the view', async () => {
    const errors: Array<{ error: Error; what: string }> = [];
    const store = openStore({ onError: (error, what) => errors.push({ error, what }) });
    const task = record();
    store.create(task);
    await store.flush();
    probeStore(store, { op: 'drop-connection' });

    expect(() => {
      store.update(task.id, { status: 'running' });
      store.saveCheckpoint(task.id, { iterations: 1, messages: '[]' });
      store.update(task.id, { status: 'completed' });
      store.finish(task.id);
    }).not.toThrow();
    expect(store.get(task.id)?.status).toBe('completed');
    await store.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.what).toContain(join(folder, 'tasks.db'));
    expect(errors[0]!.what).toContain(`1 task record (${task.id})`);
    expect(errors[0]!.what).toContain(`1 checkpoint (of ${task.id})`);
    expect(errors[0]!.error).toBeInstanceOf(Error);

    store.create(record());
    await store.flush();
    expect(errors).toHaveLength(2);
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('reports a full disk, keeps the view, and saves the record whole at its next change', async () => {
    const errors: Array<{ error: Error; what: string }> = [];
    const store = openStore({ onError: (error, what) => errors.push({ error, what }) });
    const task = record();
    store.create(task);
    store.saveCheckpoint(task.id, { iterations: 1, messages: '[small]' });
    await store.flush();
    // A page budget at the current size: the next write that needs a new page fails with SQLITE_FULL, as on
    // a full disk.
    probeStore(store, { op: 'page-budget', full: true });
    store.update(task.id, { status: 'running', lastText: 'z'.repeat(200_000) });
    store.saveCheckpoint(task.id, { iterations: 2, messages: 'm'.repeat(200_000) });
    await store.flush();
    expect(errors).toHaveLength(1);
    expect((errors[0]!.error as { code?: string }).code).toBe('SQLITE_FULL');
    expect(store.get(task.id)?.lastText).toHaveLength(200_000);
    // The failed checkpoint was not saved: the file's one is still the latest saved.
    expect(store.checkpoint(task.id)).toEqual({ iterations: 1, messages: '[small]' });

    probeStore(store, { op: 'page-budget', full: false });
    store.update(task.id, { iterations: 3 });
    const reopened = await reopen(store);
    expect(reopened.get(task.id)).toMatchObject({ status: 'running', iterations: 3 });
    expect(reopened.get(task.id)?.lastText).toHaveLength(200_000);
    expect(errors).toHaveLength(1);
  });

  it('reports batches written after the file was deleted, and leaves a replacement file alone', async () => {
    const errors: Array<{ error: Error; what: string }> = [];
    const store = openStore({ onError: (error, what) => errors.push({ error, what }) });
    const path = join(folder, 'tasks.db');
    const task = record();
    store.create(task);
    await store.flush();
    rmSync(path);
    store.update(task.id, { status: 'running' });
    await store.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error.message).toContain(`${path}" was deleted`);
    expect(errors[0]!.what).toContain(task.id);

    writeFileSync(path, 'a file someone else put here');
    expect(() => store.update(task.id, { status: 'completed' })).not.toThrow();
    store.finish(task.id);
    await store.flush();
    expect(errors).toHaveLength(2);
    expect(errors[1]!.error.message).toContain('was replaced');
    expect(store.get(task.id)?.status).toBe('completed');
    await store.close();
    expect(readFileSync(path, 'utf8')).toBe('a file someone else put here');
  });

  it('leaves out a record that cannot be serialised and saves the rest of its batch', async () => {
    const errors: string[] = [];
    const store = openStore({ onError: (_error, what) => errors.push(what) });
    const bad = record();
    bad.goal.metadata = { count: 10n };
    const good = record();
    store.create(bad);
    store.create(good);
    await store.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`1 task record (${bad.id}) that cannot be serialised as JSON`);
    expect(store.get(bad.id)?.goal.metadata).toEqual({ count: 10n });
    const reopened = await reopen(store);
    expect(reopened.get(good.id)).toEqual(good);
    expect(reopened.get(bad.id)).toBeUndefined();
  });

  it('reports writes after close instead of throwing', async () => {
    const errors: string[] = [];
    const store = openStore({ onError: (_error, what) => errors.push(what) });
    const task = record();
    store.create(task);
    await store.close();
    expect(() => store.update(task.id, { status: 'running' })).not.toThrow();
    await store.flush();
    expect(errors).toHaveLength(1);
    expect(store.get(task.id)?.status).toBe('running');
  });
});
