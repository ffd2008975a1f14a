import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  constants as fsConstants,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isToolError } from '../errors.js';
import type { ToolContext, Toolset } from '../toolset.js';
import createComputeToolset from './compute.js';
import createWorkspaceToolset from './workspace.js';

let base = '';
let root = '';
const children: ChildProcess[] = [];
const workers: Worker[] = [];
const cleanups: Array<() => void> = [];

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'errand-confine-'));
  root = join(base, 'root');
  mkdirSync(root);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
  rmSync(base, { recursive: true, force: true });
});

function context(onCheckpoint: () => void = () => {}): ToolContext {
  return {
    signal: new AbortController().signal,
    emit: () => {},
    checkpoint: () => {
      onCheckpoint();
      return [];
    },
    taskId: 't',
    sessionId: 's',
  };
}

/** The reply, or the message of a ToolError; any other error fails the test (it would fail the task). */
async function answer(toolset: Toolset, tool: string, args: unknown, ctx = context()): Promise<string> {
  const definition = toolset.tools[tool]!;
  try {
    return String(await definition.run(definition.input.parse(args), ctx));
  } catch (error) {
    if (isToolError(error)) return `ToolError: ${(error as Error).message}`;
    throw error;
  }
}

/**
 * Starts a process that swaps `root/<name>` between two things forever, with renames (`<name>` ↔ `<name>.a`,
 * `<name>.b`). Resolves once the first swap is done, so the race is on before the test reads.
 */
async function swapper(name: string): Promise<void> {
  const code = `
    const { renameSync } = require('node:fs');
    const [path] = process.argv.slice(1);
    let said = false;
    for (;;) {
      try {
        renameSync(path, path + '.tmp');
        renameSync(path + '.b', path);
        renameSync(path, path + '.b');
        renameSync(path + '.tmp', path);
      } catch {}
      if (!said) { said = true; process.stdout.write('ready\\n'); }
    }`;
  const child = spawn(process.execPath, ['-e', code, join(root, name)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await once(child.stdout!, 'data');
}

/** The reply or any error's message: what could reach the model one way or another. */
async function anyAnswer(toolset: Toolset, tool: string, args: unknown): Promise<string> {
  try {
    return await answer(toolset, tool, args);
  } catch (error) {
    return `Error: ${(error as Error).message}`;
  }
}

describe('confinement against a concurrent swap', () => {
  it('never reads outside content while a folder is swapped for a link to an outside folder', async () => {
    const outside = join(base, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'f.json'), '{"where": "OUTSIDE-SECRET"}');
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd', 'f.json'), '{"where": "inside"}');
    symlinkSync(outside, join(root, 'd.b'));
    await swapper('d');
    const workspace = createWorkspaceToolset({ root });
    const compute = createComputeToolset({ root });
    const replies: string[] = [];
    for (let attempt = 0; attempt < 600; attempt++) {
      replies.push(
        await anyAnswer(workspace, 'read_file', { path: 'd/f.json' }),
        await anyAnswer(workspace, 'grep', { pattern: 'where' }),
        await anyAnswer(workspace, 'list_files', { path: 'd' }),
        await anyAnswer(compute, 'text_stats', { path: 'd' }),
        await anyAnswer(compute, 'json_query', { path: 'd/f.json', query: 'where' }),
      );
    }
    const leaked = replies.filter((reply) => /outside|secret/i.test(reply));
    expect(leaked).toEqual([]);
  });

  it.skipIf(process.platform === 'win32')(
    'never blocks on a FIFO swapped in for a file between the check and the open',
    async () => {
      writeFileSync(join(root, 'x.txt'), 'plain text');
      execFileSync('mkfifo', [join(root, 'x.txt.b')]);
      // A reader stuck in open() can only be freed by a writer: the cleanup opens each FIFO for writing.
      cleanups.push(() => {
        for (const name of readdirSync(root)) {
          try {
            closeSync(openSync(join(root, name), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
          } catch {}
        }
      });
      await swapper('x.txt');
      // In a thread of its own, so that a blocked open() fails this test by its timeout, not the whole run.
      const worker = new Worker(
        `
        const { parentPort, workerData } = require('node:worker_threads');
        (async () => {
          const workspace = (await import(workerData.workspace)).default({ root: workerData.root });
          const compute = (await import(workerData.compute)).default({ root: workerData.root });
          const calls = [
            [workspace, 'read_file', { path: 'x.txt' }],
            [workspace, 'grep', { pattern: 'plain' }],
            [compute, 'hash_files', { path: 'x.txt' }],
            [compute, 'text_stats', { path: '.' }],
            [compute, 'json_query', { path: 'x.txt' }],
          ];
          const ctx = { signal: new AbortController().signal, emit() {}, checkpoint: () => [], taskId: 't', sessionId: 's' };
          let faults = 0;
          for (let attempt = 0; attempt < 400; attempt++) {
            for (const [toolset, name, args] of calls) {
              const tool = toolset.tools[name];
              try { await tool.run(tool.input.parse(args), ctx); } catch (error) { if (!error.isToolError) faults += 1; }
            }
          }
          parentPort.postMessage({ faults });
        })();`,
        {
          eval: true,
          workerData: {
            root,
            workspace: new URL('../../dist/toolsets/workspace.js', import.meta.url).href,
            compute: new URL('../../dist/toolsets/compute.js', import.meta.url).href,
          },
        },
      );
      workers.push(worker);
      const [result] = await once(worker, 'message');
      expect(result).toEqual({ faults: 0 });
    },
    30_000,
  );
});

describe('files that vanish while a tool works', () => {
  it('skips them in walks instead of failing the task', async () => {
    mkdirSync(join(root, 'src'));
    for (const name of ['a', 'b', 'c', 'd'])
      writeFileSync(join(root, 'src', `${name}.txt`), `text ${name}\n`);
    const workspace = createWorkspaceToolset({ root });
    const compute = createComputeToolset({ root });
    // The first checkpoint of each walk comes after the folder was listed: delete what was listed.
    const deleting = () => {
      let first = true;
      return context(() => {
        if (!first) return;
        first = false;
        for (const name of readdirSync(join(root, 'src'))) unlinkSync(join(root, 'src', name));
      });
    };
    const refill = () => {
      for (const name of ['a', 'b', 'c', 'd'])
        writeFileSync(join(root, 'src', `${name}.txt`), `text ${name}\n`);
    };
    const calls: Array<[Toolset, string, unknown]> = [
      [workspace, 'list_files', { path: 'src', recursive: true }],
      [workspace, 'grep', { pattern: 'text', path: 'src' }],
      [workspace, 'largest_files', { path: 'src' }],
      [compute, 'hash_files', { path: 'src' }],
      [compute, 'text_stats', { path: 'src' }],
    ];
    for (const [toolset, tool, args] of calls) {
      refill();
      const reply = await answer(toolset, tool, args, deleting());
      expect(reply, tool).not.toMatch(/^ToolError/);
      expect(reply, tool).not.toMatch(/a\.txt/);
    }
  });

  it('answers a single-file tool with a tool error when its file vanished', async () => {
    const workspace = createWorkspaceToolset({ root });
    const compute = createComputeToolset({ root });
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd', 'f.json'), '{"a": 1}');
    mkdirSync(join(root, 'd.b'));
    writeFileSync(join(root, 'd.b', 'other.json'), '{"a": 2}');
    // d/f.json exists half of the time.
    await swapper('d');
    for (let attempt = 0; attempt < 2_000; attempt++) {
      expect(await answer(workspace, 'read_file', { path: 'd/f.json' })).toMatch(/^\{"a": 1\}$|^ToolError/);
      expect(await answer(compute, 'json_query', { path: 'd/f.json', query: 'a' })).toMatch(/^1$|^ToolError/);
    }
  });
});

describe('paths and limits', () => {
  it('treats a name that starts with two dots as inside the root', async () => {
    writeFileSync(join(root, '..foo'), 'dotted');
    mkdirSync(join(root, '..bar'));
    writeFileSync(join(root, '..bar', 'x.txt'), 'in a dotted folder');
    const workspace = createWorkspaceToolset({ root });
    expect(await answer(workspace, 'read_file', { path: '..foo' })).toBe('dotted');
    expect(await answer(workspace, 'read_file', { path: '..bar/x.txt' })).toBe('in a dotted folder');
    expect(await answer(workspace, 'read_file', { path: '..' })).toMatch(/leaves the root/);
    expect(await answer(workspace, 'read_file', { path: '../root/..foo' })).toBe('dotted');
  });

  it('pages a file of emoji without splitting a character, by the offsets it suggests', async () => {
    const text = `${'😀é漢a🎉'.repeat(300)}\nend 👋`;
    writeFileSync(join(root, 'emoji.txt'), text);
    const workspace = createWorkspaceToolset({ root });
    for (const length of [1, 2, 3, 5, 7, 100]) {
      let offset = 0;
      let joined = '';
      for (let pages = 0; pages < 10_000; pages++) {
        const reply = await answer(workspace, 'read_file', { path: 'emoji.txt', offset, length });
        const more = /\n… \(\d+ more bytes; read again with offset (\d+)\)$/.exec(reply);
        expect(reply).not.toContain('\uFFFD');
        if (!more) {
          joined += reply;
          break;
        }
        joined += reply.slice(0, more.index);
        offset = Number(more[1]);
      }
      expect(joined, `length ${length}`).toBe(text);
    }
    // An offset inside a character starts at the next whole one and says so.
    expect(await answer(workspace, 'read_file', { path: 'emoji.txt', offset: 1, length: 4 })).toMatch(
      /^é\n… \(\d+ more bytes; read again with offset 6\) \(started 3 bytes after offset 1/,
    );
  });

  it('caps every read of a huge (sparse) file and tells the model the limit', async () => {
    const fd = openSync(join(root, 'huge.log'), 'w');
    ftruncateSync(fd, 3 * 1024 ** 3);
    closeSync(fd);
    writeFileSync(join(root, 'small.txt'), 'needle here\n');
    const workspace = createWorkspaceToolset({ root });
    const compute = createComputeToolset({ root });
    const stats = JSON.parse(await answer(compute, 'text_stats', {}));
    expect(stats).toMatchObject({ files: 1, skipped_large: 1 });
    expect(stats.note).toMatch(/files over \d+ bytes are not read/);
    expect(await answer(workspace, 'grep', { pattern: 'needle' })).toMatch(
      /^1 matches \(skipped 1 files over \d+ bytes\)/,
    );
    expect(await answer(compute, 'hash_files', {})).toMatch(
      /skipped \(3221225472 bytes or more; the limit is \d+\) {2}huge\.log/,
    );
    expect(await answer(compute, 'json_query', { path: 'huge.log' })).toMatch(
      /ToolError: .*reads at most \d+ bytes/,
    );
    const page = await answer(workspace, 'read_file', {
      path: 'huge.log',
      offset: 2 * 1024 ** 3,
      length: 10,
    });
    expect(page).toMatch(/read again with offset 2147483658\)$/);
  });
});
