import type { MessagePort } from 'node:worker_threads';
import type { OutputChunk, WorkerMessage } from './protocol.js';
import { redact } from './redact.js';

/** Longest text one chunk may carry; the parent keeps only a bounded tail of lines anyway. */
export const MAX_CHUNK_CHARS = 256 * 1024;

/**
 * Batches output chunks onto the task port: one `postMessage` per `batchSize` chunks or per `flushMs`,
 * whichever comes first. A timer covers a loop that awaits; {@link OutputStream.tick} covers one that never
 * yields (called from every checkpoint), since a timer cannot fire inside a synchronous loop.
 */
export class OutputStream {
  readonly #port: MessagePort;
  readonly #batchSize: number;
  readonly #flushMs: number;
  #batch: OutputChunk[] = [];
  #firstAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(port: MessagePort, batchSize: number, flushMs: number) {
    this.#port = port;
    this.#batchSize = batchSize;
    this.#flushMs = flushMs;
  }

  push(chunk: OutputChunk): void {
    const text = redact(
      chunk.text.length > MAX_CHUNK_CHARS ? chunk.text.slice(-MAX_CHUNK_CHARS) : chunk.text,
    );
    this.#batch.push(text === chunk.text ? chunk : { ...chunk, text });
    if (this.#batch.length === 1) {
      this.#firstAt = performance.now();
      this.#timer = setTimeout(() => this.flush(), this.#flushMs);
    }
    if (this.#batch.length >= this.#batchSize) this.flush();
  }

  /** Flushes when the oldest buffered chunk has waited `flushMs`. */
  tick(): void {
    if (this.#batch.length > 0 && performance.now() - this.#firstAt >= this.#flushMs) this.flush();
  }

  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#batch.length === 0) return;
    this.post({ kind: 'chunks', chunks: this.#batch });
    this.#batch = [];
  }

  /** Posts a control message after everything buffered, keeping the port's order. */
  post(message: WorkerMessage): void {
    if (message.kind !== 'chunks') this.flush();
    if (message.kind === 'progress' && message.lastText !== undefined) {
      this.#port.postMessage({ ...message, lastText: redact(message.lastText) });
      return;
    }
    this.#port.postMessage(message);
  }
}
