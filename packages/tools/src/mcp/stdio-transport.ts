import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { admitLine, errorResponse, requestId } from './message-gate.js';

/** Options for {@link McpStdioTransport}. */
export interface McpStdioTransportOptions {
  /** @default process.stdin */
  stdin?: Readable;
  /** @default process.stdout */
  stdout?: Writable;
  /**
   * Longest request line kept, in bytes. A longer line is skipped up to its newline and answered with a
   * -32600 error; the connection stays up.
   * @default 10 MiB (the MCP SDK's own stdio buffer limit)
   */
  maxLineBytes?: number;
}

/** Bytes kept from each end of a dropped line, enough to find its request id. */
const EDGE_BYTES = 256;

/**
 * A newline-delimited JSON-RPC stdio transport for MCP servers that never drops a request silently.
 *
 * The SDK's `StdioServerTransport` closes the connection when one line exceeds its 10 MiB buffer (so a single
 * huge request ends the server and cancels every task), and drops lines that are not JSON or not JSON-RPC with
 * no reply. This one splits lines itself, skips an over-long line without buffering it, and answers every bad
 * line as JSON-RPC asks (see `admitLine`); each problem is also reported through `onerror`.
 *
 * @example
 * await createMcpServer(supervisor).connect(new McpStdioTransport());
 */
export class McpStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;

  /** Why the connection ended, when it was not the client closing stdin. */
  failure: Error | undefined;

  private readonly stdin: Readable;
  private readonly stdout: Writable;
  private readonly maxLineBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while skipping an over-long line: its first and latest bytes (to find its id) and its size so far. */
  private dropping: { head: Buffer; tail: Buffer; bytes: number } | undefined;
  private closed = false;

  constructor(options: McpStdioTransportOptions = {}) {
    this.stdin = options.stdin ?? process.stdin;
    this.stdout = options.stdout ?? process.stdout;
    this.maxLineBytes = options.maxLineBytes ?? 10 * 1024 * 1024;
  }

  async start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.on('end', this.onEnd);
    this.stdin.on('error', this.onStreamError);
    this.stdout.on('error', this.onStreamError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('end', this.onEnd);
    this.stdin.off('error', this.onStreamError);
    this.stdout.off('error', this.onStreamError);
    this.stdin.pause();
    this.pending = [];
    this.dropping = undefined;
    this.onclose?.();
  }

  private readonly onEnd = () => {
    void this.close();
  };

  private readonly onStreamError = (error: Error) => {
    this.failure = error;
    this.onerror?.(error);
    void this.close();
  };

  private readonly onData = (chunk: Buffer | string) => {
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (!this.closed && data.length > 0) {
      const newline = data.indexOf(10);
      const piece = newline === -1 ? data : data.subarray(0, newline);
      if (this.dropping) this.skip(piece);
      else if (this.pendingBytes + piece.length > this.maxLineBytes) {
        this.dropping = { head: Buffer.alloc(0), tail: Buffer.alloc(0), bytes: 0 };
        for (const part of this.pending) this.skip(part);
        this.skip(piece);
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        // Copy: a chunk kept across reads must not pin (or alias) the stream's buffer.
        this.pending.push(Buffer.from(piece));
        this.pendingBytes += piece.length;
      }
      if (newline === -1) return;
      data = data.subarray(newline + 1);
      this.endLine();
    }
  };

  /** Counts a piece of an over-long line, keeping only its edges. */
  private skip(piece: Buffer): void {
    const dropping = this.dropping;
    if (!dropping) return;
    if (dropping.head.length < EDGE_BYTES) {
      dropping.head = Buffer.concat([dropping.head, piece.subarray(0, EDGE_BYTES - dropping.head.length)]);
    }
    const tail = Buffer.concat([dropping.tail, piece.subarray(-EDGE_BYTES)]);
    dropping.tail = tail.subarray(Math.max(0, tail.length - EDGE_BYTES));
    dropping.bytes += piece.length;
  }

  private endLine(): void {
    const dropping = this.dropping;
    if (dropping) {
      this.dropping = undefined;
      const id = idOfDroppedLine(dropping.head.toString('utf8'), dropping.tail.toString('utf8'));
      const problem = `request line of ${dropping.bytes} bytes dropped: the limit is ${this.maxLineBytes} bytes`;
      this.answer(problem, errorResponse(id, ErrorCode.InvalidRequest, problem));
      return;
    }
    const line = Buffer.concat(this.pending).toString('utf8').replace(/\r$/, '');
    this.pending = [];
    this.pendingBytes = 0;
    if (line.trim() === '') return;
    const admitted = admitLine(line);
    if ('message' in admitted) this.onmessage?.(admitted.message);
    else this.answer(admitted.problem, admitted.reply);
  }

  private answer(problem: string, reply: JSONRPCMessage | undefined): void {
    if (reply) void this.send(reply);
    this.onerror?.(new Error(problem));
  }
}

const ID = String.raw`("id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}"))`;
// The id is only trusted where it must be the outermost object's key: first (or right after "jsonrpc"), or last.
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?${ID}\s*[,}]`);
const TAIL_ID = new RegExp(String.raw`,\s*${ID}\s*\}\s*\r?$`);

/** The request id of a line too long to parse, when it can be read safely from the line's edges. */
function idOfDroppedLine(head: string, tail: string): RequestId | null {
  const match = HEAD_ID.exec(head) ?? TAIL_ID.exec(tail);
  const raw = match?.[2];
  if (raw === undefined) return null;
  try {
    return requestId(JSON.parse(raw));
  } catch {
    return null;
  }
}
