import type { MessagePort } from 'node:worker_threads';
import type { OutputChunk, Progress, WorkerMessage } from './protocol.js';
import { redact } from './redact.js';

/** Longest text one chunk may carry; the parent keeps only a bounded tail of lines anyway. */
export const MAX_CHUNK_CHARS = 256 * 1024;

/**
 * Batches output chunks onto the task port: one `postMessage` per `batchSize` chunks or per `flushMs`,
 * whichever comes first. A timer covers a loop that awaits; {@link OutputStream.tick} covers one that never
 * yields (called from every checkpoint), since a timer cannot fire inside a synchronous loop. The latest
 * {@link Progress} travels with the next batch.
 */
export class OutputStream {
  readonly #port: MessagePort;
  readonly #batchSize: number;
  readonly #flushMs: number;
  #batch: OutputChunk[] = [];
  #progress: Progress | undefined;
  #firstAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(port: MessagePort, batchSize: number, flushMs: number) {
    this.#port = port;
    this.#batchSize = batchSize;
    this.#flushMs = flushMs;
  }

  push(chunk: OutputChunk): void {
    // Redact before cutting: a cut through a key would leave the rest of it unrecognisable.
    const clean = redact(chunk.text);
    const text = clean.length > MAX_CHUNK_CHARS ? clean.slice(-MAX_CHUNK_CHARS) : clean;
    this.#arm();
    this.#batch.push(text === chunk.text ? chunk : { ...chunk, text });
    if (this.#batch.length >= this.#batchSize) this.flush();
  }

  /** Records the loop's progress; it is sent with the next flush, replacing any progress not yet sent. */
  progress(progress: Progress): void {
    this.#arm();
    this.#progress =
      progress.lastText === undefined ? progress : { ...progress, lastText: redact(progress.lastText) };
  }

  /** Flushes when the oldest buffered item has waited `flushMs`. */
  tick(): void {
    if (this.#pending() && performance.now() - this.#firstAt >= this.#flushMs) this.flush();
  }

  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!this.#pending()) return;
    const message: WorkerMessage = { kind: 'chunks', chunks: this.#batch };
    if (this.#progress) message.progress = this.#progress;
    this.#batch = [];
    this.#progress = undefined;
    this.#port.postMessage(message);
  }

  /** Posts a control message after everything buffered, keeping the port's order. */
  post(message: WorkerMessage): void {
    this.flush();
    this.#port.postMessage(message);
  }

  #pending(): boolean {
    return this.#batch.length > 0 || this.#progress !== undefined;
  }

  /** Starts the flush clock when the first item of a batch arrives. */
  #arm(): void {
    if (this.#pending()) return;
    this.#firstAt = performance.now();
    this.#timer = setTimeout(() => this.flush(), this.#flushMs);
  }
}
