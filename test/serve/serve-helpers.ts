import type { Supervisor, SupervisorOptions } from '@errand/core';
import { type ServeHandle, type StartServeOptions, startServe } from '@errand/serve';
import { closeAll, fixture, supervisor } from '../helpers.js';

/** The serve tests' model: "quick …", "lines N" and "work …" goals (see fixtures/serve-model.mjs). */
export function serveModel(turnMs = 20) {
  return { provider: 'module' as const, specifier: fixture('serve-model.mjs'), options: { turnMs } };
}

/** Two tokens, one per session: what most tests serve with. */
export const TOKENS = [
  { token: 'token-for-s1', session: 's1' },
  { token: 'token-for-s2', session: 's2' },
];

const servers = new Set<ServeHandle>();

/** A supervisor on the serve model and a server on a free loopback port; `closeServers()` ends both. */
export async function startTestServer(
  options: StartServeOptions = {},
  supervisorOptions: Partial<SupervisorOptions> = {},
): Promise<{ server: ServeHandle; supervisor: Supervisor; api: Api }> {
  const created = supervisor({
    model: serveModel(),
    ...supervisorOptions,
    limits: { defaultMaxIterations: 1_000, ...supervisorOptions.limits },
  });
  const server = await startServe(created, { port: 0, tokens: TOKENS, ...options });
  servers.add(server);
  return { server, supervisor: created, api: client(server.url) };
}

export async function closeServers(): Promise<void> {
  await Promise.all([...servers].map((server) => server.close({ graceMs: 200 })));
  servers.clear();
  await closeAll();
}

/** A JSON reply: status, parsed body, headers. */
export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field in the tests
  body: any;
  headers: Headers;
}

export type Api = (
  path: string,
  init?: {
    method?: string;
    body?: unknown;
    raw?: string;
    token?: string | null;
    headers?: Record<string, string>;
  },
) => Promise<Reply>;

/** A client for one server; `token` defaults to s1's, `null` sends none. */
export function client(base: string): Api {
  return async (path, init = {}) => {
    const token = init.token === undefined ? TOKENS[0]!.token : init.token;
    const headers: Record<string, string> = { ...init.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = init.raw;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(base + path, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  };
}

/** One Server-Sent Events frame as received. */
export interface Frame {
  id?: string;
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: frames are checked field by field in the tests
  data: any;
}

/**
 * An open SSE response, read frame by frame. `next()` resolves with the next frame (comments skipped), or
 * undefined once the stream ended.
 */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = '';
  readonly status: number;
  readonly headers: Headers;

  private constructor(response: Response) {
    this.status = response.status;
    this.headers = response.headers;
    this.#reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  static async open(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<SseReader> {
    const response = await fetch(url, { headers, ...(signal ? { signal } : {}) });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
    return new SseReader(response);
  }

  async next(): Promise<Frame | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const frame = parseFrame(block);
        if (frame) return frame;
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += value;
    }
  }

  /** Frames up to and including the first that passes `stop` (or to the end of the stream). */
  async until(stop: (frame: Frame) => boolean): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (;;) {
      const frame = await this.next();
      if (!frame) return frames;
      frames.push(frame);
      if (stop(frame)) return frames;
    }
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function parseFrame(block: string): Frame | undefined {
  let event: string | undefined;
  let id: string | undefined;
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('id: ')) id = line.slice(4);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (event === undefined) return undefined;
  return { ...(id === undefined ? {} : { id }), event, data: data ? JSON.parse(data) : undefined };
}

/** Opens a task's stream (or the events feed) with a token and optional `Last-Event-ID`. */
export function openStream(
  server: ServeHandle,
  path: string,
  options: { token?: string; lastEventId?: number } = {},
): Promise<SseReader> {
  return SseReader.open(`${server.url}${path}`, {
    authorization: `Bearer ${options.token ?? TOKENS[0]!.token}`,
    ...(options.lastEventId === undefined ? {} : { 'last-event-id': String(options.lastEventId) }),
  });
}
