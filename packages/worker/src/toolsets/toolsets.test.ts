import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isToolError } from '../errors.js';
import type { ToolContext, Toolset } from '../toolset.js';
import createComputeToolset, { parseQuery } from './compute.js';
import createWorkspaceToolset from './workspace.js';

let base = '';
let root = '';

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'errand-toolsets-'));
  root = join(base, 'root');
  mkdirSync(join(root, 'src', 'deep'), { recursive: true });
  mkdirSync(join(root, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(root, 'src', 'a.ts'), 'const a = 1; // TODO: one\nconst b = 2;\n');
  writeFileSync(join(root, 'src', 'deep', 'b.ts'), `${'x'.repeat(5000)}\n// TODO two\n`);
  writeFileSync(join(root, 'node_modules', 'dep', 'index.js'), '// TODO hidden in a dependency\n');
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'demo', scripts: { test: 'vitest' }, list: [{ id: 7 }] }),
  );
  writeFileSync(join(base, 'secret.txt'), 'outside the root');
  symlinkSync(join(base, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(base, join(root, 'escape-dir'));
  symlinkSync(join(root, 'src', 'a.ts'), join(root, 'inside-link.ts'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The context a worker would give, with a checkpoint the test can count and trip. */
function context(stopAfter = Number.POSITIVE_INFINITY) {
  let checkpoints = 0;
  const emitted: string[] = [];
  const ctx: ToolContext = {
    signal: new AbortController().signal,
    emit: (text) => emitted.push(text),
    checkpoint: () => {
      checkpoints += 1;
      if (checkpoints > stopAfter) throw new Error('cancelled at a checkpoint');
      return [];
    },
    taskId: 't',
    sessionId: 's',
  };
  return { ctx, emitted, checkpoints: () => checkpoints };
}

async function run(toolset: Toolset, tool: string, args: unknown, ctx = context().ctx): Promise<string> {
  const definition = toolset.tools[tool]!;
  return String(await definition.run(definition.input.parse(args), ctx));
}

async function refusal(toolset: Toolset, tool: string, args: unknown): Promise<string> {
  try {
    await run(toolset, tool, args);
  } catch (error) {
    expect(isToolError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('workspace toolset', () => {
  it('needs an absolute root from the host', () => {
    expect(() => createWorkspaceToolset({})).toThrow(/options.root/);
    expect(() => createWorkspaceToolset({ root: 'relative' })).toThrow(/options.root/);
  });

  it('lists, reads with offsets, greps and ranks files inside the root', async () => {
    const workspace = createWorkspaceToolset({ root });
    expect((await run(workspace, 'list_files', { path: 'src' })).split('\n')).toEqual(['a.ts', 'deep/']);
    const all = await run(workspace, 'list_files', { recursive: true });
    expect(all).toContain('src/deep/b.ts\t5013');
    expect(all).not.toContain('node_modules');
    expect(all).not.toContain('escape');
    expect(await run(workspace, 'read_file', { path: 'src/a.ts', offset: 6, length: 5 })).toMatch(
      /^a = 1\n… \(\d+ more bytes; read again with offset 11\)$/,
    );
    const grep = await run(workspace, 'grep', { pattern: 'TODO' });
    // a.ts, its link inside the root, and b.ts; not the dependency, not the links that leave.
    expect(grep.split('\n')[0]).toBe('3 matches');
    expect(grep).not.toContain('hidden in a dependency');
    expect(grep).toContain('src/a.ts:1: const a = 1; // TODO: one');
    expect((await run(workspace, 'largest_files', { count: 1 })).split('\t')[1]).toBe('src/deep/b.ts');
    expect(await run(workspace, 'read_file', { path: 'inside-link.ts', length: 11 })).toContain(
      'const a = 1',
    );
  });

  it.each([
    ['a parent path', '../secret.txt'],
    ['a parent path that comes back in', 'src/../../root/../secret.txt'],
    ['an absolute path', '/etc/passwd'],
    ['a symlink to a file outside', 'escape.txt'],
    ['a symlink to a folder outside', 'escape-dir/secret.txt'],
  ])('refuses %s with a clear tool error', async (_name, path) => {
    const workspace = createWorkspaceToolset({ root });
    const message = await refusal(workspace, 'read_file', { path });
    expect(message).toMatch(/leaves the root|absolute paths are not allowed/);
    await expect(run(workspace, 'list_files', { path })).rejects.toThrow(
      /leaves the root|absolute|not a folder|ENOTDIR/,
    );
  });

  it('stops a long search at a checkpoint', async () => {
    const workspace = createWorkspaceToolset({ root });
    await expect(run(workspace, 'grep', { pattern: 'x' }, context(1).ctx)).rejects.toThrow(
      /cancelled at a checkpoint/,
    );
  });
});

describe('compute toolset', () => {
  it('hashes files like node:crypto, calling checkpoint as it goes', async () => {
    const compute = createComputeToolset({ root });
    const { ctx, checkpoints } = context();
    const reply = await run(compute, 'hash_files', { path: 'src' }, ctx);
    const expected = createHash('sha256').update('const a = 1; // TODO: one\nconst b = 2;\n').digest('hex');
    expect(reply).toContain(`${expected}  src/a.ts`);
    expect(reply.split('\n')[0]).toBe('2 files, 5052 bytes');
    expect(checkpoints()).toBeGreaterThan(2);
  });

  it('can be cancelled mid-computation', async () => {
    const compute = createComputeToolset({ root });
    await expect(run(compute, 'hash_files', { path: '.', rounds: 1000 }, context(10).ctx)).rejects.toThrow(
      /cancelled/,
    );
  });

  it('counts text statistics and queries JSON', async () => {
    const compute = createComputeToolset({ root });
    const stats = JSON.parse(await run(compute, 'text_stats', { path: 'src/a.ts' }));
    expect(stats).toMatchObject({ files: 1, lines: 3, words: 4, characters: 39 });
    expect(stats.top_words).toMatchObject({ const: 2, todo: 1 });
    expect(await run(compute, 'json_query', { path: 'package.json', query: 'scripts.test' })).toBe(
      '"vitest"',
    );
    expect(await run(compute, 'json_query', { path: 'package.json', query: 'list[0].id' })).toBe('7');
    expect(await refusal(compute, 'json_query', { path: 'package.json', query: 'nope' })).toMatch(
      /no "nope"/,
    );
    expect(await refusal(compute, 'json_query', { path: '../secret.txt' })).toMatch(/leaves the root/);
    expect(parseQuery('a.b[2].c')).toEqual(['a', 'b', '2', 'c']);
  });
});
