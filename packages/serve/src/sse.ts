const encoder = new TextEncoder();

/**
 * One Server-Sent Events frame. `data` is JSON (one line: JSON.stringify never writes a raw newline), so the
 * frame is exactly `id:` (optional), `event:`, `data:` and a blank line.
 */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The first bytes of every stream: sent at once so the client sees the headers, and a reconnect delay. */
export const SSE_PREAMBLE = 'retry: 2000\n\n';

/** A comment frame that keeps idle connections (and proxies) from timing out. */
export const SSE_HEARTBEAT = ': keep-alive\n\n';

/** The response headers of every stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx and similar proxies buffer responses unless told not to.
  'x-accel-buffering': 'no',
} as const;

/** Counters shared by every stream of one server: what is open, what is held, who was cut off. */
export class SseStats {
  /** Streams open now. */
  clients = 0;
  /** Bytes waiting in push channels for slow clients, summed over all of them, now. */
  bufferedBytes = 0;
  /** The most any one push channel held at once since start. */
  peakChannelBytes = 0;
  /** Clients closed because they fell more than the buffer cap behind. */
  dropped = 0;
}

/** Open streams, so a shutting-down server can end each with a final event. */
export interface ClosableStream {
  /** Sends `frame` (if the client can still take it) and closes the stream. */
  finish(frame: string): void;
}

/** Options of a {@link PushChannel}. */
export interface PushChannelOptions {
  /** Most bytes held for a client that is not reading; past it the client is dropped. */
  maxBufferedBytes: number;
  stats: SseStats;
  /** Called once when the channel ends, for whatever reason (client gone, dropped, finished). */
  onClose: () => void;
  /**
   * Drops the connection underneath (destroys the socket), so a client that stopped reading releases the
   * socket's own buffers too. Without it the stream is errored, which ends the response once it drains.
   */
  abortConnection?: () => void;
}

/**
 * A stream the server pushes frames into (the `/v1/events` feed). Memory per client is bounded: frames wait
 * in a queue only while the client is not reading, and a client whose queue passes `maxBufferedBytes` is cut
 * off (and counted in `stats.dropped`) instead of being buffered for forever. The response pulls from the
 * queue only as fast as the socket drains (`@hono/node-server` waits for `drain`), so a slow reader shows up
 * here, in the queue, rather than inside Node's socket buffers.
 */
export class PushChannel implements ClosableStream {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #options: PushChannelOptions;
  #queue: string[] = [SSE_PREAMBLE];
  #bytes = SSE_PREAMBLE.length;
  #closed = false;
  #closing = false;
  #wake: (() => void) | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;

  constructor(options: PushChannelOptions) {
    this.#options = options;
    options.stats.clients += 1;
    options.stats.bufferedBytes += this.#bytes;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: (controller) => this.#pull(controller),
        cancel: () => this.#close(),
      },
      // Nothing is moved out of the queue until the response asks for it.
      { highWaterMark: 0 },
    );
  }

  /** True once the channel ended; sends are then ignored. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues a frame; returns false if the channel is closed or this frame made it drop the client. */
  send(frame: string): boolean {
    if (this.#closed || this.#closing) return false;
    this.#queue.push(frame);
    this.#bytes += frame.length;
    this.#options.stats.bufferedBytes += frame.length;
    if (this.#bytes > this.#options.stats.peakChannelBytes)
      this.#options.stats.peakChannelBytes = this.#bytes;
    if (this.#bytes > this.#options.maxBufferedBytes) {
      this.#options.stats.dropped += 1;
      this.#drop();
      return false;
    }
    this.#wake?.();
    return true;
  }

  /** Sends a last frame and ends the stream once the client has read what is queued. */
  finish(frame: string): void {
    if (this.#closed || this.#closing) return;
    this.send(frame);
    this.#closing = true;
    this.#wake?.();
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (this.#queue.length === 0 && !this.#closing && !this.#closed) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
    if (this.#closed) return;
    if (this.#queue.length > 0) {
      const text = this.#queue.join('');
      this.#options.stats.bufferedBytes -= this.#bytes;
      this.#queue = [];
      this.#bytes = 0;
      controller.enqueue(encoder.encode(text));
    }
    if (this.#closing) {
      controller.close();
      this.#close();
    }
  }

  #drop(): void {
    const controller = this.#controller;
    this.#close();
    if (this.#options.abortConnection) this.#options.abortConnection();
    else controller?.error(new Error('the client fell too far behind'));
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.stats.clients -= 1;
    this.#options.stats.bufferedBytes -= this.#bytes;
    this.#queue = [];
    this.#bytes = 0;
    this.#wake?.();
    this.#options.onClose();
  }
}
