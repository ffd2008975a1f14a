import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../packages/tools/dist/mcp/bin.js', import.meta.url));
let folder = '';
let config = '';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'errand-mcp-wire-'));
  config = join(folder, 'errand.json');
  await writeFile(
    config,
    JSON.stringify({
      model: { provider: 'scripted', turns: [{ text: 'never', delayMs: 60_000 }] },
      pool: { maxThreads: 1, minThreads: 0 },
    }),
  );
});
afterAll(() => rm(folder, { recursive: true, force: true }));

type Message = { id?: unknown; result?: unknown; error?: { code: number; message: string } };

/** The bin spoken to line by line, so the test can send what no SDK client would. */
class RawMcp {
  readonly child: ChildProcessWithoutNullStreams;
  stderr = '';
  private readonly received: Message[] = [];
  private waiting: ((message: Message) => void) | undefined;

  constructor() {
    this.child = spawn(process.execPath, [bin, '--config', config]);
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
    });
    const deliver = (message: Message) => {
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve(message);
      } else this.received.push(message);
    };
    createInterface({ input: this.child.stdout }).on('line', (line) => deliver(JSON.parse(line) as Message));
    // A server that exits answers nothing more: say so rather than leave `next()` pending.
    this.child.on('exit', (code) => deliver({ error: { code: 0, message: `server exited with ${code}` } }));
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  next(): Promise<Message> {
    const queued = this.received.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => (this.waiting = resolve));
  }

  async initialize(): Promise<void> {
    this.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    );
    expect((await this.next()).id).toBe(0);
    this.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
  }

  /** Closes stdin (the client leaves) and resolves with the exit code. */
  async end(): Promise<number | null> {
    const exited = once(this.child, 'exit');
    this.child.stdin.end();
    const [code] = await exited;
    return code as number | null;
  }
}

// Each bad line is followed by a ping: on a server that drops the bad line silently, the first message back is
// the ping's answer, so the test fails at once instead of waiting for a reply that never comes.
const ping = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' });

describe('MCP stdio wire: every request gets an answer', () => {
  it('answers bad lines with the right JSON-RPC error, logs each on stderr, and keeps serving', async () => {
    const raw = new RawMcp();
    await raw.initialize();
    const cases: Array<[line: string, id: unknown, code: number]> = [
      ['this is not json', null, -32700],
      ['{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":5}}', 7, -32602],
      ['{"jsonrpc":"2.0","id":8,"method":"tools/call","params":"x"}', 8, -32602],
      ['{"jsonrpc":"2.0","id":"s9","method":"tools/list","params":{"cursor":5}}', 's9', -32602],
      ['{"jsonrpc":"2.0","id":10,"method":"ping","extra":true}', 10, -32600],
      ['{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}', null, -32600],
      ['[]', null, -32600],
      ['42', null, -32600],
    ];
    let pingId = 100;
    for (const [line, id, code] of cases) {
      raw.send(line);
      raw.send(ping(pingId));
      const answer = await raw.next();
      expect(answer, line).toMatchObject({ id, error: { code } });
      expect(answer.error!.message.length).toBeLessThanOrEqual(301);
      expect(await raw.next()).toMatchObject({ id: pingId, result: {} });
      pingId += 1;
    }
    // Still serving: a real tool call works after all of that.
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 50, method: 'tools/list' }));
    expect(((await raw.next()).result as { tools: unknown[] }).tools).toHaveLength(6);
    expect(await raw.end()).toBe(0);
    const problems = raw.stderr
      .split('\n')
      .filter((line) => line.startsWith('errand-mcp: ') && !/rooted/.test(line));
    expect(problems.length).toBeGreaterThanOrEqual(cases.length);
    expect(raw.stderr).toMatch(/parse error/);
    expect(raw.stderr).toMatch(/invalid params for tools\/call/);
  });

  it('drops an over-long line with a -32600 answer (id null when it cannot be read) and keeps serving', async () => {
    const raw = new RawMcp();
    await raw.initialize();
    const huge = `{"jsonrpc":"2.0","method":"tools/call","params":{"padding":"${'x'.repeat(11 * 1024 * 1024)}"}}`;
    raw.send(huge);
    raw.send(ping(1));
    const answer = await raw.next();
    expect(answer).toMatchObject({ id: null, error: { code: -32600 } });
    expect(answer.error!.message).toMatch(/dropped.*limit is 10485760 bytes/);
    expect(await raw.next()).toMatchObject({ id: 1, result: {} });
    expect(await raw.end()).toBe(0);
    expect(raw.stderr).toMatch(/errand-mcp: request line of \d+ bytes dropped/);
  });

  it('answers the real SDK client that sent an 11 MiB tool call by its id; its tasks keep running', async () => {
    const client = new Client({ name: 'errand-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, '--config', config],
      stderr: 'pipe',
    });
    await client.connect(transport);
    try {
      const text = (result: Awaited<ReturnType<Client['callTool']>>) =>
        JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Record<string, unknown>;
      const started = text(
        await client.callTool({ name: 'delegate_task_async', arguments: { goal: 'keep' } }),
      );
      const failure = await client
        .callTool({ name: 'delegate_task_async', arguments: { goal: 'g'.repeat(11 * 1024 * 1024) } })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(failure).toBeInstanceOf(McpError);
      expect((failure as McpError).code).toBe(-32600);
      const checked = text(
        await client.callTool({ name: 'check_task', arguments: { task_id: started.task_id } }),
      );
      expect(checked.status).not.toBe('cancelled');
      expect(checked.task_id).toBe(started.task_id);
      // Argument errors use the server's real limits and the tool's own field names.
      const tiny = await client.callTool({
        name: 'delegate_task_async',
        arguments: { goal: 'g', timeout_seconds: 1e-9 },
      });
      expect(tiny.isError).toBe(true);
      expect(text(tiny)).toEqual({
        error: {
          code: 'invalid_input',
          message: 'timeout_seconds must be a number from 1 to 86400, got 1e-9',
        },
      });
    } finally {
      await client.close();
    }
  });
});
