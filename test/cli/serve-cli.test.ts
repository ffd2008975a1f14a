/**
 * `errand serve` as a user runs it: the built bin as a subprocess, its help, what it refuses at start, a config
 * file with tokens and a module model given by a relative path, and a graceful SIGTERM (streams end with their
 * final events, the process exits 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SseReader } from '../serve/serve-helpers.js';
import { bin, cleanEnv, notesFolder, runBin } from './run-bin.js';

let folder = '';
const children: ChildProcess[] = [];

beforeEach(async () => {
  folder = await notesFolder('errand-serve-cli-');
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(folder, { recursive: true, force: true });
});

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** A config in a folder of its own, naming the serve model and echo toolset by paths relative to it. */
async function config(extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'errand-serve-config-'));
  const fixture = (name: string) => relative(dir, join(fixtures, name));
  const file = join(dir, 'errand.json');
  await writeFile(
    file,
    JSON.stringify({
      model: { provider: 'module', specifier: fixture('serve-model.mjs') },
      toolsets: { echo: fixture('echo-toolset.mjs') },
      limits: { defaultMaxIterations: 1000 },
      pool: { maxThreads: 2, minThreads: 0 },
      serve: { tokens: [{ tokenEnv: 'SERVE_CLI_TOKEN', session: 'ops' }] },
      ...extra,
    }),
  );
  return file;
}

/** Starts `errand serve`; resolves with the child and its URL once it prints its listening line. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(
    process.execPath,
    [bin, '--root', folder, '--store', 'memory', 'serve', '--port', '0', ...args],
    {
      cwd: folder,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`errand serve exited ${code}: ${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

describe('errand serve', () => {
  it('--help documents every flag', async () => {
    const ran = await runBin(['serve', '--help'], { cwd: folder, env: cleanEnv() });
    expect(ran.code).toBe(0);
    for (const flag of ['--port <port>', '--host <address>', '--config <file>'])
      expect(ran.stdout).toContain(flag);
    expect(ran.stdout).toMatch(/default:\s+8787/);
    expect(ran.stdout).toMatch(/default:\s+"127\.0\.0\.1"/);
    expect(ran.stdout).toMatch(/tokens/);
  });

  it('refuses a non-loopback host without tokens, a bad port, and config mistakes (exit 2, one line)', async () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runBin(['--store', 'memory', 'serve', ...args], { cwd: folder, env: cleanEnv(env) });
    const open = await run(['--host', '0.0.0.0', '--port', '0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/"0\.0\.0\.0" is not a loopback address and no tokens are configured/);
    const port = await run(['--port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port must be an integer from 0 to 65535, got 70000');
    const typo = await run(['--config', await config({ serve: { tokens: [{ token: 'x', sesion: 'a' }] } })]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      'unknown option "serve.tokens.0.sesion"; did you mean "serve.tokens.0.session"?',
    );
    const supervisorTypo = await run(['--config', await config({ limts: {} })]);
    expect(supervisorTypo.code).toBe(2);
    expect(supervisorTypo.stderr).toContain('unknown option "limts"; did you mean "limits"?');
    const unset = await run(['--port', '0', '--config', await config()]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('SERVE_CLI_TOKEN, which is not set');
  });

  it('serves with the config (tokenEnv, relative module paths); SIGTERM ends streams and exits 0', async () => {
    const token = 'a-token-from-the-environment';
    const { child, url, exited, stderr } = await serve(['--config', await config()], {
      SERVE_CLI_TOKEN: token,
    });
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/v1/tasks`)).status).toBe(401);
    const created = await fetch(`${url}/v1/tasks`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ goal: 'work until the server stops' }),
    });
    expect(created.status).toBe(201);
    const { task_id: id } = (await created.json()) as { task_id: string };
    const stream = await SseReader.open(`${url}/v1/tasks/${id}/stream`, auth);
    const feed = await SseReader.open(`${url}/v1/events`, auth);
    await stream.until((frame) => frame.event === 'line');
    child.kill('SIGTERM');
    const tail = await stream.until(() => false);
    expect(tail.at(-1)).toMatchObject({ event: 'end', data: { task_id: id, status: 'cancelled' } });
    expect((await feed.until(() => false)).at(-1)).toMatchObject({ event: 'shutdown' });
    expect(await exited).toBe(0);
    expect(stderr()).toContain('errand serve: SIGTERM: shutting down');
    expect(stderr()).toContain('errand serve: stopped');
  });

  it('without a config: open on loopback, in the --session session', async () => {
    const { child, url, exited } = await serve(['--port', '0'], {});
    const session = await fetch(`${url}/v1/session`);
    expect(await session.json()).toEqual({ session: 'cli', sessions: ['cli'], auth: 'none' });
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script src="/dashboard-client.js" defer></script>');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
