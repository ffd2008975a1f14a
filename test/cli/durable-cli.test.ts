/**
 * The CLI is durable by default: tasks go to a SQLite store under the state folder, and `tasks`, `show` and
 * `resume` in later processes find them. Every test runs the built bin as a subprocess, with XDG_STATE_HOME (or
 * --store) pointing into a temp folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bin, cleanEnv, notesFolder, type Ran, runBin } from './run-bin.js';

/** A project folder of a few small files, and a state folder of its own for each test. */
let folder = '';
let state = '';
beforeEach(async () => {
  folder = await notesFolder('errand-durable-cli-');
  state = await mkdtemp(join(tmpdir(), 'errand-durable-state-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(folder, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

const children: ChildProcess[] = [];
const storeFile = () => join(state, 'errand', 'errand.db');

/** The environment of every run: this test's state folder, no ERRAND_* from outside. */
function environment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv({ XDG_STATE_HOME: state, ...extra });
}

function errand(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return runBin(['--root', folder, ...args], { cwd: folder, env: environment(extra) });
}

/** Starts the bin; `lines(pattern)` resolves once its stdout (or stderr) has shown `count` matching lines. */
function start(args: string[], stdin: 'ignore' | 'pipe' = 'ignore') {
  const child = spawn(process.execPath, [bin, '--root', folder, ...args], {
    cwd: folder,
    env: environment(),
    stdio: [stdin, 'pipe', 'pipe'],
  });
  children.push(child);
  const seen = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.on('data', (data: Buffer) => {
      seen[stream] += data.toString();
      for (const waiter of waiters.splice(0)) waiter();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = (stream: 'stdout' | 'stderr', pattern: RegExp, count = 1) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if ((seen[stream].match(new RegExp(pattern.source, 'gm'))?.length ?? 0) >= count) resolve();
        else waiters.push(check);
      };
      void exited.then(() =>
        reject(new Error(`exited before ${count}× ${pattern}: ${JSON.stringify(seen)}`)),
      );
      check();
    });
  return { child, seen, exited, lines };
}

function expectOneLine(ran: Ran, code: number, pattern: RegExp): void {
  expect(ran.code).toBe(code);
  expect(ran.stdout).toBe('');
  expect(ran.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(ran.stderr.trimEnd()).toMatch(pattern);
}

describe('errand run, then tasks / show / resume in new processes', () => {
  it('lists the task (tasks --json), prints it in full (show), and refuses what it cannot do', async () => {
    const ran = await errand(['run', 'Count TODOs under notes/']);
    expect(ran.code).toBe(0);
    const id = /^task ([0-9a-f-]{36})$/m.exec(ran.stderr)?.[1] as string;
    expect(existsSync(storeFile())).toBe(true);

    const listed = await errand(['tasks', '--json']);
    expect(listed.code).toBe(0);
    const tasks = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(tasks).toEqual([
      expect.objectContaining({ id, status: 'completed', goal: 'Count TODOs under notes/', iterations: 2 }),
    ]);
    const table = await errand(['tasks', '--status', 'completed']);
    expect(table.stdout).toMatch(/^id\s+status\s+iterations\s+elapsed\s+created\s+goal$/m);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+completed\\s+2\\s+.*Count TODOs under notes/$`, 'm'));
    expect((await errand(['tasks', '--status', 'failed'])).stdout).toMatch(
      /^no failed tasks in session "cli"/,
    );
    expectOneLine(
      await errand(['tasks', '--status', 'done']),
      2,
      /^errand: --status must be one of queued, /,
    );

    const shown = await errand(['show', id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^task\\s+${id}$`, 'm'));
    expect(shown.stdout).toMatch(/^status\s+completed$/m);
    expect(shown.stdout).toMatch(/^iterations\s+2$/m);
    expect(shown.stdout).toMatch(/^steering\s+0 sent, 0 delivered$/m);
    expect(shown.stdout).toMatch(/^started\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
    expect(shown.stdout).toContain('notes/shopping.md:1: TODO: buy milk');
    expect(shown.stdout).toMatch(/^result:\n\[demo model\] Found 2 matches for TODO\/FIXME\./m);
    const json = JSON.parse((await errand(['show', '--json', id])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ id, status: 'completed', sessionId: 'cli' });
    expect(json.result).toMatch(/^\[demo model\] Found 2 matches/);

    // Unknown ids: exit 1, one line naming the store. A completed task: nothing to resume, exit 2.
    expectOneLine(
      await errand(['show', 'nope']),
      1,
      /^errand: no task "nope" in session "cli" of the store /,
    );
    expectOneLine(await errand(['resume', 'nope']), 1, /^errand: no task "nope"/);
    expectOneLine(
      await errand(['resume', id]),
      2,
      new RegExp(`^errand: task ${id} completed: there is nothing to resume \\(errand show ${id}`),
    );
    // Another session does not see it.
    expectOneLine(await errand(['--session', 'other', 'show', id]), 1, /^errand: no task .* session "other"/);
  }, 60_000);

  it('a run killed with SIGKILL mid-task shows as interrupted, and errand resume finishes it', async () => {
    const run = start(['run', 'Hash every file under notes/ 1000 times over']);
    // The second pass's call comes after the first pass's iteration completed and its checkpoint was saved
    // (the model thinks between the two, so the store's write has long run).
    await run.lines('stdout', /^→ hash_files /, 2);
    const id = /^task ([0-9a-f-]{36})$/m.exec(run.seen.stderr)?.[1] as string;
    run.child.kill('SIGKILL');
    await run.exited;

    const listed = JSON.parse((await errand(['tasks', '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(listed).toEqual([expect.objectContaining({ id, status: 'interrupted' })]);
    const iterations = listed[0]!.iterations as number;
    expect(iterations).toBeGreaterThanOrEqual(1);
    const shown = await errand(['show', id]);
    expect(shown.stdout).toMatch(/^error\s+interrupted: the process running this task stopped/m);
    expect(shown.stderr).toBe(`resume it with: errand resume ${id}\n`);

    const resumed = await errand(['resume', id]);
    expect(resumed.code).toBe(0);
    const next = new RegExp(`^task ([0-9a-f-]{36}) \\(resumes ${id}\\)$`, 'm').exec(resumed.stderr)?.[1];
    expect(next).toBeDefined();
    expect(resumed.stdout).toMatch(
      /\[demo model\] Resumed from a checkpoint\. Pass \d+ of 10: [1-9]\d* of 1000/,
    );
    expect(resumed.stdout).toMatch(/\[demo model\] Hashed 2 files/);
    expect(resumed.stderr).toMatch(/completed after 11 iterations/);

    const after = JSON.parse((await errand(['show', '--json', next!])).stdout) as Record<string, unknown>;
    expect(after).toMatchObject({ status: 'completed', resumedFrom: id, iterations: 11 });
    // The old record stays as it ended.
    expect(JSON.parse((await errand(['show', '--json', id])).stdout)).toMatchObject({
      status: 'interrupted',
    });
  }, 90_000);
});

describe('where tasks are kept', () => {
  it('--store memory keeps nothing, and writes nothing to the state folder', async () => {
    expect((await errand(['--store', 'memory', 'run', 'Count TODOs under notes/'])).code).toBe(0);
    expect((await errand(['run', '--store', 'memory', 'Count TODOs under notes/'])).code).toBe(0);
    const listed = await errand(['--store', 'memory', 'tasks']);
    expect(listed.stdout).toMatch(
      /^no tasks in session "cli" \(memory store: nothing is kept between commands\)$/m,
    );
    expect((await errand(['tasks', '--json'], { ERRAND_STORE: 'memory' })).stdout.trim()).toBe('[]');
    expect(existsSync(join(state, 'errand'))).toBe(false);
  }, 60_000);

  it('--store PATH and ERRAND_STORE name the file', async () => {
    const file = join(folder, 'kept', 'tasks.db');
    expect((await errand(['--store', file, 'run', 'Count TODOs under notes/'])).code).toBe(0);
    expect(existsSync(file)).toBe(true);
    const listed = JSON.parse(
      (await errand(['tasks', '--json'], { ERRAND_STORE: file })).stdout,
    ) as unknown[];
    expect(listed).toHaveLength(1);
    expect(existsSync(storeFile())).toBe(false);
  }, 60_000);

  it('a store another errand process holds: inspecting it fails in one line, running falls back to memory', async () => {
    // An errand mcp whose client stays connected holds the default store for as long as it serves.
    const server = start(['mcp'], 'pipe');
    await server.lines('stderr', /^errand mcp: session "cli" in the store /);

    expectOneLine(
      await errand(['tasks']),
      1,
      /^errand: the task store .*errand\.db is in use by another errand process .*--store memory$/,
    );
    expectOneLine(
      await errand(['--store', storeFile(), 'run', 'x']),
      1,
      /is in use by another errand process/,
    );
    const ran = await errand(['run', 'Count TODOs under notes/']);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toMatch(
      /^errand: tasks are kept in memory and forgotten when this command ends: the task store .* is in use by another errand process$/m,
    );

    server.child.stdin!.end();
    expect(await server.exited).toBe(0);
    expect((await errand(['tasks'])).code).toBe(0);
  }, 60_000);

  it('--help lists the new commands, --store and --session', async () => {
    const help = await errand(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['tasks', 'show', 'resume', 'run', 'demo', 'mcp']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(help.stdout).toMatch(/--store <path>\s+file that keeps tasks across commands, or "memory"/);
    expect(help.stdout).toContain(join(state, 'errand', 'errand.db'));
    expect(help.stdout).toMatch(/--session <name>/);
  });
});

describe('errand mcp on a durable store', () => {
  async function connect(args: string[] = []) {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const client = new Client({ name: 'durable-cli-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [bin, '--root', folder, ...args, 'mcp'],
        cwd: folder,
        env: environment() as Record<string, string>,
        stderr: 'pipe',
      }),
    );
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 40_000 });
      return JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Record<string, unknown>;
    };
    return { client, call };
  }

  it('a client that reconnects collects what it delegated in its earlier connection', async () => {
    const first = await connect();
    const started = await first.call('delegate_task_async', { goal: 'Count TODOs under notes/' });
    const done = await first.call('collect_task', { task_id: started.task_id, timeout_seconds: 30 });
    expect(done.status).toBe('completed');
    await first.client.close();

    const second = await connect();
    try {
      const listed = await second.call('list_tasks', {});
      expect(listed.tasks).toEqual([
        expect.objectContaining({ task_id: started.task_id, status: 'completed' }),
      ]);
      const again = await second.call('collect_task', { task_id: started.task_id, timeout_seconds: 0 });
      expect(again).toMatchObject({ status: 'completed', result: done.result });
    } finally {
      await second.client.close();
    }

    // Another session does not see it; the CLI's own commands share the default one.
    const other = await connect(['--session', 'elsewhere']);
    try {
      const refused = await other.call('check_task', { task_id: started.task_id });
      expect((refused.error as { code: string }).code).toBe('not_found');
    } finally {
      await other.client.close();
    }
    const listed = JSON.parse((await errand(['tasks', '--json'])).stdout) as Array<{ id: string }>;
    expect(listed.map((task) => task.id)).toEqual([started.task_id]);
  }, 60_000);
});
