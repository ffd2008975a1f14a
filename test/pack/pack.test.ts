/**
 * The packages as a user gets them: packed with pnpm (as `pnpm publish` would), installed with npm from the
 * tarballs into empty projects outside the workspace, then used by ESM, CommonJS and TypeScript hosts and through
 * the installed `errand` bin. Dependencies come from the npm cache (`--prefer-offline`); a cold cache needs the
 * npm registry once. Build first (`npm run build`): the tarballs ship dist/ as it is.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, installProject, PACKAGES, packTarballs, runNode, typecheck } from './packed.js';

let scratch: string;
/** core + worker + tools: what a library host installs (no `openai`). */
let library: string;
/** The CLI, which brings `openai` for its `--base-url` model. */
let cli: string;
let tarballs: Map<string, string>;

const node = (folder: string, file: string, code: string) => runNode(folder, file, code);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'errand-pack-test-'));
  tarballs = await packTarballs(join(scratch, 'tarballs'));
  library = join(scratch, 'library');
  cli = join(scratch, 'cli');
  const only = (...names: string[]) => names.map((name) => tarballs.get(name)!);
  await Promise.all([
    installProject(library, [...only('core', 'worker', 'tools'), '@types/node@20']),
    installProject(cli, only('cli', 'core', 'worker', 'tools', 'redis', 'serve')),
  ]);
}, 180_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('packed packages', () => {
  it('packs every package, with LICENSE, README, real versions instead of workspace:*', async () => {
    expect([...tarballs.keys()].sort()).toEqual([...PACKAGES]);
    for (const name of PACKAGES) {
      const folder = join(cli, 'node_modules/@errand', name);
      const manifest = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8'));
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
      expect(manifest).toMatchObject({
        license: 'MIT',
        repository: { directory: `packages/${name}` },
        engines: { node: expect.stringMatching(/^>=20/) },
      });
      expect(manifest.description.length).toBeGreaterThan(20);
      expect(existsSync(join(folder, 'LICENSE'))).toBe(true);
      expect(await readFile(join(folder, 'README.md'), 'utf8')).toContain('npm install');
      const shipped = await readdir(join(folder, 'dist'), { recursive: true });
      expect(shipped.filter((file) => /\.test\./.test(file))).toEqual([]);
    }
  });

  it('ships source maps whose sources resolve', async () => {
    let maps = 0;
    for (const name of PACKAGES) {
      const folder = join(cli, 'node_modules/@errand', name, 'dist');
      for (const file of await readdir(folder, { recursive: true })) {
        if (!file.endsWith('.map')) continue;
        maps += 1;
        const map = JSON.parse(await readFile(join(folder, file), 'utf8')) as { sources: string[] };
        for (const source of map.sources) {
          const target = resolve(dirname(join(folder, file)), source);
          expect(existsSync(target), `${name}/dist/${file} → ${source}`).toBe(true);
        }
      }
    }
    expect(maps).toBeGreaterThan(20);
  });

  it('does not install openai with the library packages (an optional peer of @errand/worker)', () => {
    expect(existsSync(join(library, 'node_modules/openai'))).toBe(false);
  });
});

const ESM_HOST = `import { Supervisor } from '@errand/core';

const supervisor = new Supervisor({ model: { provider: 'scripted', turns: [{ text: 'packed and working' }] } });
const session = supervisor.session('pack');
const id = session.delegate({ goal: 'say it works' });
const done = await session.collect(id, { timeoutMs: 20_000 });
console.log(JSON.stringify({ status: done.status, result: done.result }));
await supervisor.close();
`;

describe('hosts using the installed packages', () => {
  it('ESM: import, delegate a scripted goal, collect it, close (and the process exits on its own)', async () => {
    const { stdout } = await node(library, 'host.mjs', ESM_HOST);
    expect(JSON.parse(stdout)).toEqual({ status: 'completed', result: 'packed and working' });
  });

  it('CommonJS: require() (Node ≥ 20.19) and import() (any Node 20)', async () => {
    const body = ESM_HOST.replace(/^import .*\n/, '');
    const required = await node(
      library,
      'host-require.cjs',
      `const { Supervisor } = require('@errand/core');\n(async () => {\n${body}})();\n`,
    );
    expect(JSON.parse(required.stdout)).toEqual({ status: 'completed', result: 'packed and working' });
    const imported = await node(
      library,
      'host-import.cjs',
      `(async () => {\nconst { Supervisor } = await import('@errand/core');\n${body}})();\n`,
    );
    expect(JSON.parse(imported.stdout)).toEqual({ status: 'completed', result: 'packed and working' });
  });

  it('TypeScript: tsc --noEmit with moduleResolution nodenext and bundler', async () => {
    await writeFile(
      join(library, 'host.ts'),
      `import { Supervisor, type TaskSnapshot } from '@errand/core';
import { createDelegationTools, handleToolCall, toAnthropicTools, toOpenAITools } from '@errand/tools';
import { defineTool, defineToolset } from '@errand/worker';

const supervisor = new Supervisor({ model: { provider: 'scripted', turns: [{ text: 'typed' }] } });
const session = supervisor.session('ts');
const tools = createDelegationTools(session);
// An Anthropic tool_use block's input is \`unknown\`: handleToolCall takes it as it is.
const block: { name: string; input: unknown } = { name: 'list_tasks', input: {} };
const reply: string = await handleToolCall(tools, block.name, block.input);
const done: TaskSnapshot = await session.collect(session.delegate({ goal: 'g' }), { timeoutMs: 1_000 });
export const used = [reply, done.status, toOpenAITools(tools), toAnthropicTools(tools), defineTool, defineToolset];
await supervisor.close();
`,
    );
    for (const [module, moduleResolution] of [
      ['nodenext', 'nodenext'],
      ['esnext', 'bundler'],
    ]) {
      const config = `tsconfig.${moduleResolution}.json`;
      await writeFile(
        join(library, config),
        JSON.stringify({
          compilerOptions: {
            target: 'es2022',
            module,
            moduleResolution,
            strict: true,
            noEmit: true,
            // As most projects do (tsc --init's default): declaration files of optional peers a host does not
            // use (the AI SDK's types) need not be installed.
            skipLibCheck: true,
            types: ['node'],
          },
          files: ['host.ts'],
        }),
      );
      const checked = await typecheck(library, config);
      expect(checked, `tsc with moduleResolution ${moduleResolution}`).toBe('');
    }
  });

  it('a task on the openai-compatible provider without openai installed fails, naming the package', async () => {
    const { stdout } = await node(
      library,
      'host-openai.mjs',
      `import { Supervisor } from '@errand/core';
const supervisor = new Supervisor({
  model: { provider: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1', model: 'any' },
});
const session = supervisor.session('pack');
const done = await session.collect(session.delegate({ goal: 'hello' }), { timeoutMs: 20_000 });
console.log(JSON.stringify({ status: done.status, error: done.error }));
await supervisor.close();
`,
    );
    const { status, error } = JSON.parse(stdout);
    expect(status).toBe('failed');
    expect(error.code).toBe('model_error');
    expect(error.message).toMatch(/npm install openai/);
  });

  it('the installed errand bin: --version, and run on a folder of its own', async () => {
    const bin = join(cli, 'node_modules/.bin/errand');
    const version = await exec(bin, ['--version'], { cwd: cli, timeout: 30_000 });
    expect(version.stdout.trim()).toBe('0.1.0');
    const folder = join(scratch, 'files');
    await mkdir(folder);
    await writeFile(join(folder, 'notes.md'), 'TODO: write the notes\n');
    // The durable store goes to a temp state folder, never the real home (better-sqlite3 is omitted here, so the
    // CLI says it runs in memory).
    const ran = await exec(bin, ['--root', folder, 'run', 'Count TODOs under .'], {
      cwd: cli,
      timeout: 30_000,
      env: { ...process.env, XDG_STATE_HOME: join(folder, 'state') },
    });
    expect(ran.stdout).toMatch(/Found 1 match/);
    expect(ran.stderr).toMatch(/completed after 2 iterations/);
  });

  it('the installed errand serve: the dashboard files ship with @errand/serve, SIGTERM exits 0', async () => {
    const bin = join(cli, 'node_modules/.bin/errand');
    const child = spawn(bin, ['--store', 'memory', 'serve', '--port', '0'], {
      cwd: cli,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      void exited.then(() => reject(new Error(stderr)));
    });
    const script = await fetch(`${url}/dashboard-client.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('readEvents');
    expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
