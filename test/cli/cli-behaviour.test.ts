/**
 * How the `errand` command behaves as a Unix tool: version, help, usage errors (exit 2, one line), pipes closed
 * early, NDJSON, error messages that name what was tried, and the demo on a folder that is not this repository.
 * Every test runs the built bin as a subprocess.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cleanEnv, notesFolder, type Ran, runBin } from './run-bin.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the bin with exactly these arguments, without ERRAND_* variables from the outer environment. */
function errand(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  // The task store goes to a state folder of the test's own, never the real home.
  return runBin(args, { cwd: folder, env: cleanEnv({ XDG_STATE_HOME: state, ...env }) });
}

/** A folder that is not this repository: a few notes and a readme, no packages/ and no package.json. */
let folder = '';
let state = '';
beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'errand-cli-state-'));
  folder = await notesFolder('errand-cli-', '# Notes\nA folder of notes and ideas.\n');
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

/** A usage error: exit code 2 and exactly one line on stderr, starting with "errand: ". */
function expectUsageError(ran: Ran, message: string | RegExp): void {
  expect(ran.code).toBe(2);
  expect(ran.stdout).toBe('');
  expect(ran.stderr.endsWith('\n')).toBe(true);
  expect(ran.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(ran.stderr.trimEnd()).toMatch(typeof message === 'string' ? message : message);
}

describe('errand: version, help and usage errors', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(repo, 'packages/cli/package.json'), 'utf8'));
    const ran = await errand(['--version']);
    expect(ran).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('errand run --help lists the global flags too', async () => {
    const ran = await errand(['run', '--help']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('--max-iterations <n>');
    expect(ran.stdout).toMatch(/Global Options:[\s\S]*--root <dir>[\s\S]*--base-url <url>/);
  });

  it('unknown command, missing argument and unknown flag: exit 2, one line', async () => {
    expectUsageError(await errand(['frobnicate']), "errand: unknown command 'frobnicate'");
    expectUsageError(await errand(['run']), "errand: missing required argument 'goal'");
    expectUsageError(
      await errand(['run', '--max-iteration', '3', 'x']),
      /^errand: unknown option '--max-iteration'/,
    );
  });

  it('numeric flags are checked in our words', async () => {
    expectUsageError(
      await errand(['run', '--max-iterations', '0.5', 'x']),
      /^errand: --max-iterations must be an integer ≥ 1, got 0\.5$/,
    );
    expectUsageError(
      await errand(['run', '--max-iterations', 'many', 'x']),
      /^errand: --max-iterations must be an integer ≥ 1, got many$/,
    );
    expectUsageError(
      await errand(['run', '--timeout', '0', 'x']),
      /^errand: --timeout must be a number of seconds > 0, got 0$/,
    );
    expectUsageError(
      await errand(['demo', '--think-ms', '-5']),
      /^errand: --think-ms must be an integer ≥ 0, got -5$/,
    );
  });

  it('a bad value the engine refuses (an unknown --model profile) is a usage error too', async () => {
    expectUsageError(
      await errand(['--root', folder, 'run', '--model', 'gpt-42', 'x']),
      /unknown model profile "gpt-42"; allowed: demo/,
    );
  });

  it('--root (or ERRAND_ROOT) must be an existing folder', async () => {
    const missing = join(folder, 'no-such-folder');
    expectUsageError(
      await errand(['--root', missing, 'run', 'x']),
      `errand: --root: root folder ${JSON.stringify(missing)} does not exist`,
    );
    expectUsageError(
      await errand(['run', 'x'], { ERRAND_ROOT: missing }),
      `errand: ERRAND_ROOT: root folder ${JSON.stringify(missing)} does not exist`,
    );
    expectUsageError(
      await errand(['--root', join(folder, 'README.md'), 'demo']),
      /^errand: --root: root ".*README\.md" is not a folder$/,
    );
  });
});

describe('errand run', () => {
  it('ends quietly with exit 0 when its reader closes the pipe (| head -2)', async () => {
    const child = spawn(process.execPath, [bin, '--root', repo, 'run', 'Count TODOs under packages/'], {
      cwd: repo,
      env: { ...process.env, XDG_STATE_HOME: state },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // What `head -2` does: read two lines, then close the pipe. The agent's answer is written later (after the
    // tool runs and the model thinks), so the bin still has lines to write into the closed pipe.
    await new Promise<void>((resolve) => {
      let seen = '';
      child.stdout.on('data', (data: Buffer) => {
        seen += data.toString();
        if (seen.split('\n').length > 2) {
          child.stdout.destroy();
          resolve();
        }
      });
    });
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
  });

  it('--json streams NDJSON events and ends with the snapshot', async () => {
    const ran = await errand(['--root', folder, 'run', '--json', 'Count TODOs under notes/']);
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe('');
    const lines = ran.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const events = lines.slice(0, -1);
    const taskId = lines.at(-1)!.id;
    expect(events[0]).toMatchObject({ event: 'task-start', taskId, goal: 'Count TODOs under notes/' });
    expect(events.at(-1)).toMatchObject({ event: 'task-end', taskId, status: 'completed', iterations: 2 });
    const output = events.filter((event) => event.event === 'task-output');
    expect(output.map((event) => event.index)).toEqual(output.map((_, index) => index));
    expect(output.map((event) => event.text)).toContain('notes/shopping.md:1: TODO: buy milk');
    expect(new Set(events.map((event) => event.event))).toEqual(
      new Set(['task-start', 'task-output', 'task-end']),
    );
    expect(lines.at(-1)).toMatchObject({ status: 'completed', exitReason: 'completed' });
  });

  it('fails (exit 1) when the agent could not do its job, instead of completing with an apology', async () => {
    const ran = await errand(['--root', folder, 'run', 'Count TODOs under packages/']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(
      /failed after 1 iterations \(model_error: .*the grep call was refused: .*packages/,
    );
  });

  it('a model server that cannot be reached: the error names the URL it tried', async () => {
    const url = 'http://127.0.0.1:1/v1';
    const ran = await errand(['--root', folder, '--base-url', url, '--model-id', 'any', 'run', 'hello']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/failed after 0 iterations \(model_error: .*Connection error/);
    expect(ran.stderr).toContain(url);
  });
});

describe('errand demo outside this repository', () => {
  it('plans its goals from the files in the folder, and every agent does its job', async () => {
    const ran = await errand(['--root', folder, 'demo', '--think-ms', '50']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).not.toContain('packages/');
    expect(ran.stdout).not.toMatch(/refused|no such file|does not exist/i);
    const summary = ran.stdout.slice(ran.stdout.indexOf('task  '));
    expect(summary).toMatch(/^todos\s+completed\s+2\s.*Found 2 matches/m);
    expect(summary).toMatch(/^stats\s+completed\s/m);
    expect(summary).toMatch(/^hash\s+completed\s+3\s+\S+\s+1\/1 delivered\s+Hashed \d+ files/m);
    expect(summary).toMatch(/^marathon\s+cancelled\s/m);
    expect(summary.match(/ completed /g)?.length).toBe(5);
  });
});
