import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const exec = promisify(execFile);

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function errand(args: string[]): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, '--root', root, ...args], {
      cwd: root,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
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
    const snapshot = JSON.parse(ran.stdout);
    expect(snapshot).toMatchObject({ status: 'completed', iterations: 2, exitReason: 'completed' });
    expect(snapshot.result).toContain('vitest');
  });

  it('run exits non-zero with the error when the task fails', async () => {
    const ran = await errand(['run', '--max-iterations', '1', 'Hash every file under packages/core']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/failed after 1 iterations \(max_iterations: /);
    const unknown = await errand(['run', '--model', 'gpt-42', 'anything']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown model profile "gpt-42"; allowed: demo/);
  });

  it('Ctrl-C during run cancels the task and exits', async () => {
    const child = spawn(
      process.execPath,
      [bin, '--root', root, 'run', 'Hash every file in the repository 1000 times over'],
      {
        cwd: root,
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
    expect(stderr).toMatch(/cancelled after 1 iterations \(cancelled: cancelled: interrupted \(Ctrl-C\)\)/);
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

describe('errand mcp', () => {
  it('serves the six tools over stdio to the SDK client, running the demo model', async () => {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [bin, '--root', root, 'mcp'],
        cwd: root,
        stderr: 'pipe',
      }),
    );
    try {
      expect((await client.listTools()).tools).toHaveLength(6);
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
