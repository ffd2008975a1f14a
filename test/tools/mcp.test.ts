import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers.js';

const version = (
  JSON.parse(readFileSync(new URL('../../packages/tools/package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
const bin = fileURLToPath(new URL('../../packages/tools/dist/mcp/bin.js', import.meta.url));
let folder = '';
let config = '';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'errand-mcp-'));
  config = join(folder, 'errand.json');
  await writeFile(
    config,
    JSON.stringify({
      model: { provider: 'scripted', turns: [{ text: 'working on it', delayMs: 2_500 }] },
      models: { slow: { provider: 'scripted', turns: [{ text: 'never', delayMs: 60_000 }] } },
      toolsets: { echo: fixture('echo-toolset.mjs') },
      pool: { maxThreads: 2, minThreads: 0 },
    }),
  );
});
afterAll(() => rm(folder, { recursive: true, force: true }));

async function connect(): Promise<Client> {
  const client = new Client({ name: 'errand-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [bin, '--config', config], stderr: 'pipe' }),
  );
  return client;
}

const json = (result: Awaited<ReturnType<Client['callTool']>>) =>
  JSON.parse((result.content as Array<{ type: string; text: string }>)[0]!.text) as Record<string, unknown>;

describe('MCP server over stdio, driven by the real SDK client', () => {
  it('lists the six tools and runs delegate, check, steer, collect with progress, and cancel', async () => {
    const client = await connect();
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual([
        'delegate_task_async',
        'check_task',
        'collect_task',
        'steer_task',
        'cancel_task',
        'list_tasks',
      ]);
      expect(tools.every((tool) => tool.inputSchema.type === 'object')).toBe(true);

      const started = json(
        await client.callTool({ name: 'delegate_task_async', arguments: { goal: 'mcp goal' } }),
      );
      const taskId = started.task_id as string;
      expect(taskId).toMatch(/-/);
      const checked = json(await client.callTool({ name: 'check_task', arguments: { task_id: taskId } }));
      expect(checked.goal).toBe('mcp goal');
      const steered = json(
        await client.callTool({ name: 'steer_task', arguments: { task_id: taskId, message: 'go' } }),
      );
      expect(steered).toMatchObject({ ok: true, seq: 1, delivery: 'queued' });

      const progress: Array<{ progress: number; total?: number | undefined }> = [];
      const collected = json(
        await client.callTool(
          { name: 'collect_task', arguments: { task_id: taskId, timeout_seconds: 20 } },
          undefined,
          {
            onprogress: (notice) => progress.push(notice),
            timeout: 30_000,
          },
        ),
      );
      expect(collected).toMatchObject({ status: 'completed', result: 'working on it', timed_out: false });
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress[0]!.total).toBe(20);

      const slow = json(
        await client.callTool({ name: 'delegate_task_async', arguments: { goal: 'slow', model: 'slow' } }),
      );
      const cancelled = json(
        await client.callTool({ name: 'cancel_task', arguments: { task_id: slow.task_id } }),
      );
      expect(cancelled).toMatchObject({ ok: true, status: 'cancelled' });

      const error = await client.callTool({ name: 'check_task', arguments: { task_id: 'nope' } });
      expect(error.isError).toBe(true);
      expect(json(error)).toMatchObject({ error: { code: 'not_found' } });
    } finally {
      await client.close();
    }
  });

  it('runs delegate_task_async as an MCP task for a client that asks, reporting the package version', async () => {
    const client = await connect();
    try {
      expect(client.getServerVersion()?.version).toBe(version);
      await client.listTools();
      const seen: string[] = [];
      let result: Record<string, unknown> | undefined;
      for await (const message of client.experimental.tasks.callToolStream(
        { name: 'delegate_task_async', arguments: { goal: 'a task over stdio' } },
        undefined,
        { timeout: 30_000 },
      )) {
        seen.push(message.type);
        if (message.type === 'result') result = message.result.structuredContent as Record<string, unknown>;
      }
      expect(seen[0]).toBe('taskCreated');
      expect(result).toMatchObject({ status: 'completed', result: 'working on it', timed_out: false });
      const { tasks } = await client.experimental.tasks.listTasks();
      expect(tasks).toEqual([expect.objectContaining({ taskId: result?.task_id, status: 'completed' })]);
    } finally {
      await client.close();
    }
  });

  it('gives each connection its own session', async () => {
    const first = await connect();
    const second = await connect();
    try {
      const started = json(
        await first.callTool({ name: 'delegate_task_async', arguments: { goal: 'private', model: 'slow' } }),
      );
      const peek = json(
        await second.callTool({ name: 'check_task', arguments: { task_id: started.task_id } }),
      );
      expect(peek).toMatchObject({ error: { code: 'not_found' } });
      const list = json(await second.callTool({ name: 'list_tasks', arguments: {} }));
      expect(list.tasks).toEqual([]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
