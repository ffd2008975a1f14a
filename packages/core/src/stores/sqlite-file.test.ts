import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, StoreLockedError } from '../errors.js';
import type { TaskRecord } from '../task-store.js';
import { openSqliteStore, type SqliteStore } from './sqlite-store.js';

/** The built store, for child processes (Node 20 cannot run the .ts sources). */
const BUILT_STORE = new URL('../../dist/stores/sqlite-store.js', import.meta.url);

let folder: string;
let stores: SqliteStore[] = [];
let children: ChildProcess[] = [];

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'errand-sqlite-file-'));
});

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
  children = [];
  for (const store of stores) await store.close();
  stores = [];
  rmSync(folder, { recursive: true, force: true });
});

function openStore(path: string): SqliteStore {
  const store = openSqliteStore(path, { retainFinished: 100 });
  stores.push(store);
  return store;
}

function record(id: string, status: TaskRecord['status']): TaskRecord {
  return {
    id,
    sessionId: 's',
    status,
    goal: {
      goal: 'g',
      toolsets: {},
      hostTools: false,
      role: 'worker',
      model: { provider: 'scripted', turns: [{ text: 'ok' }] },
      maxIterations: 1,
      timeoutMs: 1000,
    },
    depth: 0,
    createdAt: 1,
    iterations: 0,
    steering: { sent: 0, delivered: 0 },
    outputLines: 0,
    droppedLines: 0,
    transitions: [{ status, at: 1 }],
  };
}

/**
 * Starts a process that opens the store at `path`, writes a running task and waits, holding the file. Resolves
 * once the child says the store is open (a message, not a delay).
 */
async function holdInChild(path: string): Promise<ChildProcess> {
  if (!existsSync(BUILT_STORE))
    throw new Error(`${BUILT_STORE.pathname} is missing: run \`npm run build\` first`);
  const code = `
    const { openSqliteStore } = await import(process.argv[1]);
    const store = openSqliteStore(process.argv[2], { retainFinished: 10 });
    store.create(JSON.parse(process.argv[3]));
    await store.flush();
    process.stdout.write('open\\n');
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      code,
      BUILT_STORE.href,
      path,
      JSON.stringify(record('child-task', 'running')),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('open\n')) resolve();
    });
    child.once('exit', (exitCode) =>
      reject(new Error(`the child exited (${exitCode}) before opening: ${stderr}`)),
    );
  });
  return child;
}

function filesIn(path: string): string[] {
  return readdirSync(path).sort();
}

describe('openSqliteStore: one supervisor per file', () => {
  it('refuses a second open in this process, by any spelling of the path, until the first closes', async () => {
    const path = join(folder, 'tasks.db');
    const first = openStore(path);
    symlinkSync(folder, join(folder, 'link'));
    for (const spelling of [
      path,
      join(folder, 'link', 'tasks.db'),
      join(folder, '.', 'x', '..', 'tasks.db'),
    ]) {
      let thrown: unknown;
      try {
        openSqliteStore(spelling, { retainFinished: 1 });
      } catch (error) {
        thrown = error;
      }
      expect(StoreLockedError.isInstance(thrown)).toBe(true);
      expect((thrown as StoreLockedError).code).toBe('store_locked');
      expect((thrown as StoreLockedError).holder).toBe('this-process');
      expect((thrown as Error).message).toContain(spelling);
    }
    await first.close();
    const second = openStore(path);
    expect(second.path).toBe(path);
  });

  it('refuses a file held by a live process, changing nothing', async () => {
    const path = join(folder, 'tasks.db');
    await holdInChild(path);
    const before = filesIn(folder).map((name) => [name, readFileSync(join(folder, name))]);
    let thrown: unknown;
    try {
      openSqliteStore(path, { retainFinished: 0 });
    } catch (error) {
      thrown = error;
    }
    expect(StoreLockedError.isInstance(thrown)).toBe(true);
    expect((thrown as StoreLockedError).holder).toBe('another-process');
    expect((thrown as Error).message).toContain(path);
    expect(filesIn(folder).map((name) => [name, readFileSync(join(folder, name))])).toEqual(before);
  });

  it('opens a file whose holder was SIGKILLed, with its unfinished task', async () => {
    const path = join(folder, 'tasks.db');
    const child = await holdInChild(path);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    const store = openStore(path);
    expect([...store.unfinished()].map((task) => task.id)).toEqual(['child-task']);
  });

  it('releases the file on close for another process', async () => {
    const path = join(folder, 'tasks.db');
    const store = openSqliteStore(path, { retainFinished: 1 });
    await store.close();
    await holdInChild(path);
  });
});

describe('openSqliteStore: files that are not stores', () => {
  const cases: Array<[string, (path: string) => void]> = [
    ['4 KB of random bytes', (path) => writeFileSync(path, randomBytes(4096))],
    ['a text file', (path) => writeFileSync(path, 'remember to buy milk\n'.repeat(100))],
    [
      'a SQLite header followed by garbage',
      (path) =>
        writeFileSync(path, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), randomBytes(8192)])),
    ],
    [
      "another program's SQLite database",
      (path) => {
        const db = new Database(path);
        db.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me')");
        db.close();
      },
    ],
    [
      'a store written by a newer errand',
      (path) => {
        const db = new Database(path);
        db.exec(
          'CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99)',
        );
        db.close();
      },
    ],
  ];

  for (const [name, make] of cases) {
    it(`throws naming the path and leaves ${name} byte for byte untouched`, () => {
      const path = join(folder, 'tasks.db');
      make(path);
      const before = readFileSync(path);
      const files = filesIn(folder);
      expect(() => openSqliteStore(path, { retainFinished: 10 })).toThrow(path);
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(filesIn(folder)).toEqual(files);
      // Nothing is left held: the same refusal, not a lock error, the second time.
      expect(() => openSqliteStore(path, { retainFinished: 10 })).toThrow(/left untouched/);
    });
  }

  it('throws InvalidInputError for a folder', () => {
    expect(() => openSqliteStore(folder, { retainFinished: 1 })).toThrow(InvalidInputError);
  });

  it('opens an empty file as a new store', async () => {
    const path = join(folder, 'empty.db');
    writeFileSync(path, '');
    const store = openStore(path);
    expect(store.size).toBe(0);
  });
});

describe('openSqliteStore: paths', () => {
  it('creates missing parent folders', () => {
    const path = join(folder, 'a', 'b', 'c', 'tasks.db');
    openStore(path);
    expect(existsSync(path)).toBe(true);
  });

  it('throws naming the path when a parent is a file', () => {
    writeFileSync(join(folder, 'plain'), 'x');
    const path = join(folder, 'plain', 'sub', 'tasks.db');
    expect(() => openSqliteStore(path, { retainFinished: 1 })).toThrow(path);
  });

  it('validates its options', () => {
    const path = join(folder, 'tasks.db');
    expect(() => openSqliteStore(path, { retainFinished: -1 })).toThrow(
      /retainFinished must be an integer >= 0/,
    );
    expect(() => openSqliteStore('', { retainFinished: 1 })).toThrow(InvalidInputError);
    expect(existsSync(path)).toBe(false);
  });
});

/** Runs `code` (an ES module; argv[1] is the built store, argv[2] the path) in a child process to its end. */
async function runToEnd(code: string, path: string): Promise<{ exitCode: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, BUILT_STORE.href, path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  if (stderr.trim() !== '') stdout += `\nstderr: ${stderr}`;
  return { exitCode, stdout };
}

describe('openSqliteStore: the writer thread', () => {
  it('lets a process that never closes its store end on its own, with what it wrote saved', async () => {
    const path = join(folder, 'tasks.db');
    // No close and no flush: the batch goes at the end of the tick, and the process must neither hang on the
    // writer thread nor end before the thread has written it.
    const run = await runToEnd(
      `const { openSqliteStore } = await import(process.argv[1]);
       const store = openSqliteStore(process.argv[2], { retainFinished: 10 });
       store.create(${JSON.stringify(record('left-open', 'running'))});
       store.saveCheckpoint('left-open', { iterations: 3, messages: '[3]' });
       console.log('done');`,
      path,
    );
    expect(run).toEqual({ exitCode: 0, stdout: 'done\n' });
    const store = openStore(path);
    expect(store.get('left-open')?.status).toBe('running');
    expect(store.checkpoint('left-open')).toEqual({ iterations: 3, messages: '[3]' });
  });

  it('leaves no thread behind when the open fails on the writer (a damaged file)', async () => {
    const path = join(folder, 'tasks.db');
    writeFileSync(path, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), randomBytes(8_192)]));
    const run = await runToEnd(
      `const { openSqliteStore } = await import(process.argv[1]);
       try { openSqliteStore(process.argv[2], { retainFinished: 10 }); }
       catch (error) { console.log(error.code ?? error.name, error.message.includes(process.argv[2])); }`,
      path,
    );
    // The process ends by itself: had a writer thread outlived the failed open, it would keep it alive.
    expect(run).toEqual({ exitCode: 0, stdout: 'invalid_input true\n' });
  });
});
