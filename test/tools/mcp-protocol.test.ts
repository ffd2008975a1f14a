import { readFileSync } from 'node:fs';
import { TOOL_NAMES } from '@errand/core';
import { createMcpServer } from '@errand/tools/mcp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  McpError,
  type Task,
  TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, scripted, supervisor } from '../helpers.js';

afterEach(closeAll);

const version = (
  JSON.parse(readFileSync(new URL('../../packages/tools/package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** A real SDK client talking to `createMcpServer` over the SDK's in-memory transport pair. */
async function connect(options: { tasks?: boolean } = {}) {
  const sup = supervisor({
    model: scripted([{ text: 'done quickly' }]),
    models: { slow: scripted([{ text: 'never', delayMs: 60_000 }]) },
  });
  const server = createMcpServer(sup, { sessionId: 'mcp-test', taskPollIntervalMs: 50 });
  const client = new Client(
    { name: 'errand-test', version: '1.0.0' },
    options.tasks ? { capabilities: { tasks: { list: {}, cancel: {} } } } : {},
  );
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return { sup, session: sup.session('mcp-test'), client, close: () => client.close() };
}

const text = (result: object) =>
  JSON.parse((result as { content: Array<{ text: string }> }).content[0]!.text) as Record<string, unknown>;

describe('MCP done the MCP way', () => {
  it('lists optional arguments as optional, an output schema and annotations per tool, and its version', async () => {
    const { client, close } = await connect();
    try {
      expect(client.getServerVersion()).toEqual({ name: 'errand', version });
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual([...TOOL_NAMES]);
      const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
      const delegate = byName.delegate_task_async!;
      // goal is required unless resume_task_id is given, which a JSON Schema `required` cannot say.
      expect(delegate.inputSchema.required ?? []).toEqual([]);
      expect(delegate.inputSchema.properties?.resume_task_id).toMatchObject({ type: 'string' });
      // Plainly optional, not "required but nullable" (that form is only for OpenAI strict mode).
      expect(delegate.inputSchema.properties?.max_iterations).toMatchObject({
        type: 'integer',
        maximum: 1000,
      });
      expect(JSON.stringify(delegate.inputSchema)).not.toContain('"null"');
      expect(byName.steer_task!.inputSchema.required).toEqual(['task_id', 'message']);
      expect(byName.list_tasks!.inputSchema.required ?? []).toEqual([]);
      for (const tool of tools) {
        expect(tool.outputSchema?.type, tool.name).toBe('object');
        expect(tool.annotations, tool.name).toBeDefined();
      }
      expect(byName.collect_task!.outputSchema?.required).toEqual(
        expect.arrayContaining(['task_id', 'status', 'timed_out', 'result', 'output']),
      );
      for (const name of ['check_task', 'collect_task', 'list_tasks']) {
        expect(byName[name]!.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true });
      }
      expect(byName.cancel_task!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
      expect(delegate.annotations).toMatchObject({ readOnlyHint: false, openWorldHint: true });
      expect(delegate.execution).toEqual({ taskSupport: 'optional' });
      expect(tools.filter((tool) => tool.execution !== undefined)).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('answers every success with structuredContent matching its text, and errors with isError', async () => {
    const { client, close } = await connect();
    try {
      await client.listTools(); // the client then validates structuredContent against each output schema
      const started = await client.callTool({ name: 'delegate_task_async', arguments: { goal: 'g' } });
      expect(started.isError).toBeUndefined();
      expect(started.structuredContent).toEqual(text(started));
      const taskId = text(started).task_id as string;
      for (const [name, args] of [
        ['check_task', { task_id: taskId }],
        ['collect_task', { task_id: taskId, timeout_seconds: 30 }],
        ['list_tasks', {}],
      ] as const) {
        const result = await client.callTool({ name, arguments: args });
        expect(result.structuredContent, name).toEqual(text(result));
      }
      const slow = await client.callTool({
        name: 'delegate_task_async',
        arguments: { goal: 's', model: 'slow' },
      });
      const steered = await client.callTool({
        name: 'steer_task',
        arguments: { task_id: (slow.structuredContent as { task_id: string }).task_id, message: 'hurry' },
      });
      expect(steered.structuredContent).toMatchObject({ ok: true, seq: 1, delivery: 'queued' });
      const cancelled = await client.callTool({
        name: 'cancel_task',
        arguments: { task_id: (slow.structuredContent as { task_id: string }).task_id },
      });
      expect(cancelled.structuredContent).toMatchObject({ ok: true, status: 'cancelled' });
      const missing = await client.callTool({ name: 'check_task', arguments: { task_id: 'nope' } });
      expect(missing.isError).toBe(true);
      expect(missing.structuredContent).toBeUndefined();
      expect(text(missing)).toMatchObject({ error: { code: 'not_found' } });
    } finally {
      await close();
    }
  });

  it('without task support, delegate_task_async answers at once as before', async () => {
    const { client, session, close } = await connect();
    try {
      await client.listTools();
      const result = await client.callTool({
        name: 'delegate_task_async',
        arguments: { goal: 'slow', model: 'slow' },
      });
      expect(Object.keys(text(result)).sort()).toEqual(['message', 'status', 'task_id']);
      expect(['queued', 'running']).toContain(session.check(text(result).task_id as string).status);
    } finally {
      await close();
    }
  });
});

describe('MCP Tasks on delegate_task_async', () => {
  it('a task-augmented call creates the errand task under the same id; tasks/get, tasks/result and status notifications follow it', async () => {
    const { client, session, close } = await connect({ tasks: true });
    try {
      await client.listTools();
      const notices: Task[] = [];
      let ended!: (task: Task) => void;
      const terminal = new Promise<Task>((resolve) => {
        ended = resolve;
      });
      client.setNotificationHandler(TaskStatusNotificationSchema, (notification) => {
        notices.push(notification.params);
        if (notification.params.status !== 'working') ended(notification.params);
      });
      const created = await client.request(
        {
          method: 'tools/call',
          params: { name: 'delegate_task_async', arguments: { goal: 'as a task' }, task: { ttl: 60_000 } },
        },
        CreateTaskResultSchema,
      );
      const { taskId } = created.task;
      expect(created.task).toMatchObject({ status: 'working', ttl: null, pollInterval: 50 });
      expect(session.check(taskId).goal).toBe('as a task');

      const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
      expect(result.structuredContent).toMatchObject({
        task_id: taskId,
        status: 'completed',
        result: 'done quickly',
        timed_out: false,
      });
      expect(result._meta).toEqual({ 'io.modelcontextprotocol/related-task': { taskId } });
      expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({
        taskId,
        status: 'completed',
        statusMessage: expect.stringMatching(/^completed: /),
      });
      expect(await terminal).toMatchObject({ taskId, status: 'completed' });
      expect(notices.every((notice) => notice.taskId === taskId)).toBe(true);
      expect(notices.map((notice) => notice.statusMessage?.split(':')[0])).toContain('running');
    } finally {
      await close();
    }
  });

  it('callToolStream runs the tool as a task to its result; tasks/list and tasks/cancel act on errand tasks', async () => {
    const { client, session, close } = await connect({ tasks: true });
    try {
      await client.listTools();
      const kinds: string[] = [];
      let final: Record<string, unknown> | undefined;
      for await (const message of client.experimental.tasks.callToolStream({
        name: 'delegate_task_async',
        arguments: { goal: 'streamed' },
      })) {
        kinds.push(message.type);
        if (message.type === 'result') final = message.result.structuredContent as Record<string, unknown>;
      }
      expect(kinds[0]).toBe('taskCreated');
      expect(kinds.at(-1)).toBe('result');
      expect(final).toMatchObject({ status: 'completed', result: 'done quickly' });

      const slow = await client.request(
        {
          method: 'tools/call',
          params: { name: 'delegate_task_async', arguments: { goal: 'slow', model: 'slow' }, task: {} },
        },
        CreateTaskResultSchema,
      );
      const listed = await client.experimental.tasks.listTasks();
      expect(listed.tasks.map((task) => task.taskId).sort()).toEqual(
        session
          .list()
          .map((task) => task.id)
          .sort(),
      );
      const cancelled = await client.experimental.tasks.cancelTask(slow.task.taskId);
      expect(cancelled).toMatchObject({ taskId: slow.task.taskId, status: 'cancelled' });
      expect(session.check(slow.task.taskId).status).toBe('cancelled');
      const again = await client.experimental.tasks
        .cancelTask(slow.task.taskId)
        .catch((error: unknown) => error);
      expect(again).toBeInstanceOf(McpError);
      const missing = await client.experimental.tasks.getTask('nope').catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(McpError);
    } finally {
      await close();
    }
  });

  it('refuses a task for tools that cannot be one, and bad arguments create no task', async () => {
    const { client, session, close } = await connect({ tasks: true });
    try {
      const notTask = await client
        .request(
          { method: 'tools/call', params: { name: 'list_tasks', arguments: {}, task: {} } },
          CreateTaskResultSchema,
        )
        .catch((error: unknown) => error);
      expect(notTask).toBeInstanceOf(McpError);
      expect((notTask as McpError).code).toBe(-32601);
      const bad = await client
        .request(
          {
            method: 'tools/call',
            params: { name: 'delegate_task_async', arguments: { goal: 'g', max_iterations: 0 }, task: {} },
          },
          CreateTaskResultSchema,
        )
        .catch((error: unknown) => error);
      expect(bad).toBeInstanceOf(McpError);
      expect((bad as McpError).code).toBe(-32602);
      expect((bad as McpError).message).toContain('max_iterations must be an integer from 1 to 1000, got 0');
      expect(session.list()).toEqual([]);
    } finally {
      await close();
    }
  });
});
