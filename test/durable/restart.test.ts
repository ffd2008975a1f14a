import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type SupervisorOptions } from '@errand/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixture, scripted } from '../helpers.js';

let folder: string;
const open: Supervisor[] = [];

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'errand-durable-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((each) => each.close({ graceMs: 200 })));
  await rm(folder, { recursive: true, force: true });
});

function durable(
  options: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'model'>,
  path = join(folder, 'errand.db'),
) {
  const supervisor = new Supervisor({
    toolsets: { echo: fixture('echo-toolset.mjs') },
    store: { kind: 'sqlite', path },
    pool: { maxThreads: 4, minThreads: 0 },
    ...options,
  });
  open.push(supervisor);
  return supervisor;
}

/** Starts the host fixture on `path` and resolves with its 4 task ids once each has checkpointed 3 iterations. */
function startHost(path: string): Promise<{ ids: string[]; kill: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(fixture('durable-host.mjs')),
      path,
      fixture('echo-toolset.mjs'),
      fixture('resume-model.mjs'),
    ],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      if (!out.includes('\n')) return;
      const ids = JSON.parse(out.split('\n')[0]!) as string[];
      resolve({
        ids,
        kill: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill('SIGKILL');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`host exited (${code}) before it was ready: ${stderr}`)));
  });
}

describe('durable tasks (SQLite store, real processes)', () => {
  it('a host killed with SIGKILL mid-run: its tasks come back interrupted, and resume from their checkpoints', async () => {
    const path = join(folder, 'errand.db');
    const host = await startHost(path);
    await host.kill();

    const sup = durable(
      { model: { provider: 'module', specifier: fixture('resume-model.mjs'), options: { steps: 50 } } },
      path,
    );
    const session = sup.session('restart');
    const listed = session.list();
    expect(listed.map((task) => task.id).sort()).toEqual([...host.ids].sort());
    const resumed: Array<[string, number]> = [];
    for (const id of host.ids) {
      const before = session.check(id);
      expect(before).toMatchObject({
        status: 'interrupted',
        exitReason: 'interrupted',
        error: { code: 'interrupted' },
      });
      expect(before.iterations).toBeGreaterThanOrEqual(3);
      resumed.push([session.resume(id), before.iterations]);
    }
    for (const [id, iterations] of resumed) {
      const done = await session.collect(id, { timeoutMs: 30_000 });
      // The model counts the assistant turns it was given back: the conversation survived the crash.
      expect(done.status).toBe('completed');
      expect(done.result).toMatch(/^resumed with (\d+) earlier assistant turns$/);
      expect(Number(done.result!.match(/\d+/)![0])).toBeGreaterThanOrEqual(iterations);
    }
    // Another session sees none of it, after a restart too.
    expect(() => sup.session('intruder').check(host.ids[0]!)).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  }, 60_000);

  it('keeps a 5,000-line result whole across a restart, while the preview stays bounded', async () => {
    const path = join(folder, 'errand.db');
    const text = Array.from({ length: 5_000 }, (_, index) => `line ${index}`).join('\n');
    const first = durable({ model: scripted([{ text }]) }, path);
    const id = first.session('s').delegate({ goal: 'long answer' });
    await first.session('s').collect(id);
    await first.close();
    open.splice(open.indexOf(first), 1);

    const second = durable({ model: scripted([{ text: 'x' }]) }, path);
    const after = second.session('s').collect(id);
    const snapshot = await after;
    expect(snapshot.status).toBe('completed');
    expect(snapshot.result).toBe(text);
    expect(snapshot.preview).toHaveLength(200);
    expect(snapshot.outputLines).toBe(5_000);
  });

  it('refuses a second supervisor on a held file (store_locked), and a corrupt file, before starting threads', async () => {
    const path = join(folder, 'errand.db');
    durable({ model: scripted([{ text: 'x' }]) }, path);
    expect(() => durable({ model: scripted([{ text: 'x' }]) }, path)).toThrow(
      expect.objectContaining({ code: 'store_locked', message: expect.stringContaining(path) }),
    );
    const corrupt = join(folder, 'corrupt.db');
    await writeFile(corrupt, 'this is not a database, just text\n'.repeat(200));
    const before = (await stat(corrupt)).mtimeMs;
    // OS threads of this process: a worker thread is created synchronously when a pool with minThreads starts.
    const threads = async () => (await readdir('/proc/self/task')).length;
    const threadsBefore = await threads();
    expect(() =>
      durable({ model: scripted([{ text: 'x' }]), pool: { maxThreads: 2, minThreads: 2 } }, corrupt),
    ).toThrow(expect.objectContaining({ message: expect.stringContaining(corrupt) }));
    expect((await stat(corrupt)).mtimeMs).toBe(before);
    expect(await threads()).toBe(threadsBefore);
  });

  it('a store file deleted mid-run: tasks still end, and store-error says what was not saved', async () => {
    const path = join(folder, 'errand.db');
    const sup = durable({ model: scripted([{ text: 'first' }, { text: 'second' }], true) }, path);
    const errors: string[] = [];
    sup.on('store-error', (event) => errors.push(event.message));
    const session = sup.session('s');
    await session.collect(session.delegate({ goal: 'before' }));
    await rm(path);
    const done = await session.collect(session.delegate({ goal: 'after the file is gone' }));
    expect(done.status).toBe('completed');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toContain(path);
  });
});
