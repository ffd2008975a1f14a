/**
 * The READMEs' examples as a new user runs them: the repository's README and each package's, as the tarballs ship
 * it. Every block marked `<!-- example: file -->` is written, as it is, into a new project outside the workspace
 * that installed the packed tarballs (and the vendor SDKs the examples import), typechecked with tsc (strict,
 * nodenext) and run with node. The models are a local fake server (test/fixtures/readme-model-server.mjs), reached
 * through the variables the examples already read (OPENAI_BASE_URL, ANTHROPIC_BASE_URL and their keys); nothing
 * goes to the internet. The MCP examples are driven by the official MCP SDK client over stdio, starting the
 * installed bin (or the example server) the way a client config says.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../cli/run-bin.js';
import { SUBAGENT_ANSWER, startReadmeModelServer } from '../fixtures/readme-model-server.mjs';
import { exec, installProject, PACKAGES, packTarballs, typecheck } from './packed.js';
import { type ReadmeBlock, readmeBlocks } from './readme.js';

/** The vendor packages the examples import, at the versions the workspace tests use (Node 20 compatible). */
const VENDOR = [
  'openai@6.49.0',
  '@anthropic-ai/sdk@1.13.0',
  'ai@6.0.326',
  '@ai-sdk/openai-compatible@2.0.92',
  '@modelcontextprotocol/sdk@1.32.2',
  'zod@4.6.7',
  '@types/node@20',
];
/** The one placeholder in the MCP client config: the folder the user gives errand. */
const ROOT_PLACEHOLDER = '/abs/path/project';
const FOUND = `The sub-agent found: ${SUBAGENT_ANSWER}`;

let scratch: string;
let project: string;
/** Each README's blocks, by its path in the repository. */
let readmes: Map<string, ReadmeBlock[]>;
/** Every example, by the file it is written to. */
let examples: Map<string, ReadmeBlock>;
let server: Awaited<ReturnType<typeof startReadmeModelServer>>;
let env: NodeJS.ProcessEnv;
/** tsc's diagnostics for the examples ('' when they typecheck); settles once out/ is written. */
let compiled: Promise<string>;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'errand-readme-test-'));
  project = join(scratch, 'project');
  const tarballs = await packTarballs(join(scratch, 'tarballs'));
  await installProject(project, [...tarballs.values(), ...VENDOR]);
  // The repository's README, and each package's as npm ships it (read from the installed tarball).
  readmes = new Map([['README.md', await readmeBlocks()]]);
  for (const name of PACKAGES) {
    const shipped = join(project, 'node_modules/@errand', name, 'README.md');
    readmes.set(`packages/${name}/README.md`, await readmeBlocks(shipped));
  }
  examples = new Map();
  for (const blocks of readmes.values()) {
    for (const block of blocks) {
      if (block.marker?.kind !== 'example') continue;
      expect(examples.has(block.marker.value), `two examples named ${block.marker.value}`).toBe(false);
      examples.set(block.marker.value, block);
      await writeFile(join(project, block.marker.value), block.code);
    }
  }
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        allowJs: true,
        checkJs: true,
        // tsc also writes the JavaScript node runs (Node 20 cannot run .ts); the check is its diagnostics.
        outDir: 'out',
        skipLibCheck: true,
        types: ['node'],
      },
      files: [...examples.keys()].filter((file) => /\.(ts|mjs)$/.test(file)),
    }),
  );
  // Started here, awaited by the typecheck test and before running a .ts example (so each test runs alone too).
  compiled = typecheck(project, 'tsconfig.json');
  server = await startReadmeModelServer();
  env = cleanEnv({
    OPENAI_API_KEY: 'sk-readme-test',
    OPENAI_BASE_URL: `${server.origin}/v1`,
    ANTHROPIC_API_KEY: 'sk-ant-readme-test',
    ANTHROPIC_BASE_URL: server.origin,
    NO_PROXY: '127.0.0.1',
    XDG_STATE_HOME: join(scratch, 'state'),
  });
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs an example from the project: `.mjs` as it is, `.ts` as tsc emitted it into out/. */
async function run(file: string): Promise<string> {
  await compiled;
  const script = file.endsWith('.ts') ? join('out', file.replace(/\.ts$/, '.js')) : file;
  const { stdout } = await exec(process.execPath, [script], { cwd: project, env, timeout: 60_000 });
  return stdout;
}

describe('the README examples, installed from the packed tarballs', () => {
  it('marks every js, ts and json block as an example that runs here, or as a fragment saying why', () => {
    for (const [readme, blocks] of readmes) {
      for (const block of blocks) {
        if (block.lang === 'sh' || block.lang === '') continue;
        expect(
          block.marker,
          `${readme}:${block.line}: a \`\`\`${block.lang} block without a marker`,
        ).toBeDefined();
        if (block.marker?.kind !== 'example') continue;
        const extension = { js: '.mjs', ts: '.ts', json: '.json' }[block.lang];
        expect(block.marker.value.endsWith(extension ?? '?'), `${readme}:${block.line}`).toBe(true);
      }
    }
    expect([...examples.keys()].sort()).toEqual([
      'ai-sdk-tools.ts',
      'anthropic-tools.ts',
      'completion-notices.ts',
      'core-example.mjs',
      'mcp-config.json',
      'mcp-server.mjs',
      'openai-tools.ts',
      'quickstart.mjs',
      'tools-example.ts',
      'word-count.mjs',
    ]);
  });

  it('typecheck with tsc (strict, module nodenext; JavaScript with checkJs)', async () => {
    expect(await compiled).toBe('');
  }, 120_000);

  it('quickstart.mjs prints what the README shows', async () => {
    const { output } = examples.get('quickstart.mjs')!;
    const lines = (await run('quickstart.mjs')).trim().split('\n');
    expect(['queued', 'running']).toContain(lines[0]);
    expect(lines.slice(1).join('\n').replace(/\s+/g, ' ')).toBe(output!.trim().replace(/\s+/g, ' '));
  });

  it('packages/core: core-example.mjs delegates and collects', async () => {
    const lines = (await run('core-example.mjs')).trim().split('\n');
    expect(['queued', 'running']).toContain(lines[0]);
    expect(lines[1]).toBe('completed Summary: three modules, no cycles.');
  });

  it('packages/tools: tools-example.ts delegates through the openai SDK and answers', async () => {
    expect(await run('tools-example.ts')).toBe('The sub-agent found: Summary: three modules, no cycles.\n');
  });

  it('packages/worker: word-count.mjs is a toolset a Supervisor loads as the README says', async () => {
    // The README: "Give it to a Supervisor as toolsets: { words: new URL('./word-count.mjs', import.meta.url).href }".
    await writeFile(
      join(project, 'use-word-count.mjs'),
      `import { Supervisor } from '@errand/core';
const supervisor = new Supervisor({
  model: {
    provider: 'scripted',
    turns: [{ toolCalls: [{ name: 'count_words', arguments: { text: 'one two  three' } }] }, { text: 'counted' }],
  },
  toolsets: { words: new URL('./word-count.mjs', import.meta.url).href },
});
const session = supervisor.session('words');
const done = await session.collect(session.delegate({ goal: 'count' }), { timeoutMs: 20_000 });
console.log(JSON.stringify({ status: done.status, preview: done.preview }));
await supervisor.close();
`,
    );
    const { status, preview } = JSON.parse(await run('use-word-count.mjs'));
    expect(status).toBe('completed');
    expect(preview).toContain('← count_words: 3');
  });

  it('openai-tools.ts: the openai SDK delegates, collects and answers; sub-agents on openai-compatible', async () => {
    const before = server.requests.length;
    expect(await run('openai-tools.ts')).toBe(`${FOUND}\n`);
    const seen = server.requests.slice(before);
    // Three host turns (delegate, collect, answer) and the sub-agent's streamed turn.
    expect(seen.filter((request) => request.body.stream).length).toBe(1);
    expect(seen.filter((request) => !request.body.stream).map((request) => request.body.model)).toEqual([
      'gpt-4.1',
      'gpt-4.1',
      'gpt-4.1',
    ]);
  });

  it('anthropic-tools.ts: the Anthropic SDK delegates, collects and answers', async () => {
    const before = server.requests.length;
    expect(await run('anthropic-tools.ts')).toBe(`${FOUND}\n`);
    const paths = server.requests.slice(before).map((request) => request.path);
    expect(paths.filter((path) => path === '/v1/messages').length).toBe(3);
    expect(paths).toContain('/v1/chat/completions');
  });

  it('ai-sdk-tools.ts: generateText with toAISDKTools; sub-agents on the ai-sdk provider', async () => {
    const before = server.requests.length;
    expect(await run('ai-sdk-tools.ts')).toBe(`${FOUND}\n`);
    expect(server.requests.slice(before).filter((request) => request.body.stream).length).toBe(1);
  });

  it('completion-notices.ts: answers at once, then again from the completion notice', async () => {
    const lines = (await run('completion-notices.ts')).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Task [0-9a-f-]{36} runs in the background/);
    expect(lines[1]).toBe(FOUND);
  });

  it('mcp-config.json: the MCP SDK client starts the installed errand bin as configured and uses it', async () => {
    const config = JSON.parse(examples.get('mcp-config.json')!.code) as {
      mcpServers: { errand: { command: string; args: string[] } };
    };
    const { command, args } = config.mcpServers.errand;
    expect(args.filter((arg) => arg === ROOT_PLACEHOLDER)).toHaveLength(1);
    const root = await notesFolder();
    const result = await delegateOverMcp(
      command,
      args.map((arg) => (arg === ROOT_PLACEHOLDER ? root : arg)),
      'Count TODOs under .',
    );
    // errand mcp's offline demo model, using the workspace toolset on the root.
    expect(result).toMatch(/Found 1 match/);
  });

  it('mcp-server.mjs: a server of your own, on the openai-compatible model with the workspace toolset', async () => {
    const before = server.requests.length;
    const result = await delegateOverMcp(
      process.execPath,
      ['mcp-server.mjs', await notesFolder()],
      'Read notes.md',
    );
    expect(result).toBe(SUBAGENT_ANSWER);
    const subAgent = server.requests.slice(before).find((request) => request.body.stream);
    const tools = (subAgent?.body.tools ?? []) as { function: { name: string } }[];
    expect(tools.map((tool) => tool.function.name)).toContain('read_file');
  });
});

/** A folder with one TODO, for the agents behind the MCP servers. */
async function notesFolder(): Promise<string> {
  const root = join(scratch, 'files');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'notes.md'), 'TODO: write the notes\n');
  return root;
}

/**
 * Starts an MCP server the way a client config says (command, args; from the project folder), checks it lists the
 * six tools, delegates `goal`, collects the task and returns its result.
 */
async function delegateOverMcp(command: string, args: string[], goal: string): Promise<string> {
  const transport = new StdioClientTransport({
    command,
    args,
    cwd: project,
    env: env as Record<string, string>,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'readme-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'cancel_task',
      'check_task',
      'collect_task',
      'delegate_task_async',
      'list_tasks',
      'steer_task',
    ]);
    const delegated = await client.callTool({ name: 'delegate_task_async', arguments: { goal } });
    const taskId = (delegated.structuredContent as { task_id: string }).task_id;
    const collected = await client.callTool({
      name: 'collect_task',
      arguments: { task_id: taskId, timeout_seconds: 30 },
    });
    expect(collected.structuredContent).toMatchObject({ status: 'completed' });
    return (collected.structuredContent as { result: string }).result;
  } finally {
    await client.close();
  }
}
