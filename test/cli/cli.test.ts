import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cleanEnv, type Ran, runBin } from './run-bin.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);

/** The task store goes to a state folder of this file's own, never the real home. */
let state = '';
beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'errand-cli-state-'));
});
afterAll(() => rm(state, { recursive: true, force: true }));
function errand(args: string[]): Promise<Ran> {
  return runBin(['--root', root, ...args], { cwd: root, env: cleanEnv({ XDG_STATE_HOME: state }) });
}

/** Resolves once stdout has printed a line matching `pattern`. */
function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (data: Buffer) => {
      seen += data.toString();
      if (pattern.test(seen)) resolve();
    });
    child.once('exit', () => reject(new Error(`exited before printing ${pattern}: ${seen}`)));
  });
}

describe('errand CLI (the built bin as a subprocess)', () => {
  it('run streams the agent output and exits 0 when the goal completes', async () => {
    const ran = await errand(['run', 'Count TODOs under packages/worker']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('[demo model] Plan: search packages/worker for TODO and FIXME markers.');
    expect(ran.stdout).toMatch(/→ grep \{"pattern":"TODO\|FIXME","path":"packages\/worker"/);
    expect(ran.stdout).toMatch(/\[demo model\] Found \d+ matches/);
    expect(ran.stderr).toMatch(/completed after 2 iterations/);
  });

  it('run --json prints the final snapshot', async () => {
    const ran = await errand(['run', '--json', 'Which devDependencies does package.json list?']);
    expect(ran.code).toBe(0);
    const lines = ran.stdout.trim().split('\n');
    const snapshot = JSON.parse(lines.at(-1)!);
    expect(snapshot).toMatchObject({ status: 'completed', iterations: 2, exitReason: 'completed' });
    expect(snapshot.result).toContain('vitest');
  });

  it('run exits non-zero with the error when the task fails', async () => {
    const ran = await errand(['run', '--max-iterations', '1', 'Hash every file under packages/core']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/failed after 1 iterations \(max_iterations: /);
    const unknown = await errand(['run', '--model', 'gpt-42', 'anything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown model profile "gpt-42"; allowed: demo/);
  });

  it('Ctrl-C during run cancels the task and exits', async () => {
    const child = spawn(
      process.execPath,
      [bin, '--root', root, 'run', 'Hash every file in the repository 1000 times over'],
      {
        cwd: root,
        env: cleanEnv({ XDG_STATE_HOME: state }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    await waitForLine(child, /→ hash_files/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('cancelling');
    expect(stderr).toMatch(/cancelled after 1 iterations \(cancelled: interrupted \(Ctrl-C\)\)$/m);
    expect(stderr).not.toContain('cancelled: cancelled');
  });

  it('demo, without a terminal, prints progress lines and a summary with completed, steered and cancelled tasks', async () => {
    const ran = await errand(['demo', '--think-ms', '200']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('offline demo model (deterministic, not an LLM)');
    expect(ran.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} hash: steering sent \(seq 1, queued\)$/m);
    expect(ran.stdout).toMatch(/hash: steering delivered/);
    expect(ran.stdout).not.toContain('\u001b[');
    const summary = ran.stdout.slice(ran.stdout.indexOf('task  '));
    expect(summary).toMatch(/^hash\s+completed\s+3\s+\S+\s+1\/1 delivered\s+Hashed \d+ files/m);
    expect(summary).toMatch(/^marathon\s+cancelled\s/m);
    expect(summary.match(/ completed /g)?.length).toBe(5);
    expect(ran.stdout).toMatch(/host event-loop delay p99 while agents worked: [\d.]+ ms/);
  });
});

/** Runs the bin with exactly these arguments (no implied --root) and a chosen environment. */
function errandBare(args: string[], env: NodeJS.ProcessEnv = {}, cwd = root): Promise<Ran> {
  return runBin(args, { cwd, env: cleanEnv({ XDG_STATE_HOME: state, ...env }), timeout: 30_000 });
}

describe('errand mcp root (security: the file tools never default to / or $HOME)', () => {
  it('refuses to start without an explicit root, even when started in /', async () => {
    const ran = await errandBare(['mcp'], {}, '/');
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/errand mcp needs --root DIR \(or ERRAND_ROOT\)/);
    expect(ran.stdout).toBe('');
  });

  it('refuses / and the home folder itself unless --allow-broad-root is given', async () => {
    const slash = await errandBare(['--root', '/', 'mcp']);
    expect(slash.code).toBe(2);
    expect(slash.stderr).toMatch(/refusing root "\/" is the filesystem root/);
    const home = await mkdtemp(join(tmpdir(), 'errand-home-'));
    try {
      const viaEnv = await errandBare(['mcp'], { HOME: home, ERRAND_ROOT: home });
      expect(viaEnv.code).toBe(2);
      expect(viaEnv.stderr).toMatch(/is your home folder/);
      expect(viaEnv.stderr).toContain('--allow-broad-root');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
    const missing = await errandBare(['--root', '/nonexistent-errand-root', 'mcp']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/root folder "\/nonexistent-errand-root" does not exist/);
  });

  it('says the root in --help', async () => {
    const help = await errandBare(['mcp', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--root DIR/);
    expect(help.stdout).toMatch(/--allow-broad-root/);
  });

  it('errand-mcp refuses a config whose toolset root is /', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'errand-mcp-root-'));
    try {
      const config = join(folder, 'errand.json');
      await writeFile(
        config,
        JSON.stringify({
          model: { provider: 'scripted', turns: [{ text: 'x' }] },
          toolsets: {
            workspace: { specifier: '@errand/worker/toolsets/workspace', options: { root: '/' } },
          },
        }),
      );
      const mcpBin = fileURLToPath(new URL('../../packages/tools/dist/mcp/bin.js', import.meta.url));
      const ran = await exec(process.execPath, [mcpBin, '--config', config], { timeout: 30_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(ran.code).toBe(2);
      expect(ran.stderr).toMatch(/toolset "workspace": refusing root "\/" is the filesystem root/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('errand mcp', () => {
  it('serves the six tools over stdio to the SDK client, running the demo model', async () => {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, '--root', root, 'mcp'],
      cwd: root,
      env: cleanEnv({ XDG_STATE_HOME: state }) as Record<string, string>,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools).toHaveLength(6);
      expect(stderr).toContain(`errand mcp: file tools rooted at ${root.replace(/\/$/, '')}`);
      const text = (result: Awaited<ReturnType<typeof client.callTool>>) =>
        JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Record<string, unknown>;
      const started = text(
        await client.callTool({
          name: 'delegate_task_async',
          arguments: { goal: 'Count TODOs under packages/core' },
        }),
      );
      const done = text(
        await client.callTool(
          { name: 'collect_task', arguments: { task_id: started.task_id, timeout_seconds: 30 } },
          undefined,
          {
            timeout: 40_000,
          },
        ),
      );
      expect(done).toMatchObject({ status: 'completed' });
      expect(done.result).toMatch(/\[demo model\] Found \d+ matches/);
    } finally {
      await client.close();
    }
  });
});
