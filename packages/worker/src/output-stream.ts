import { getHeapStatistics } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';
import {
  CONTROL,
  type ConversationCheckpoint,
  type OutputChunk,
  type Progress,
  type WorkerMessage,
} from './protocol.js';
import { redact } from './redact.js';

/**
 * Longest text one chunk may carry; the parent keeps only a bounded tail of lines anyway. A longer chunk keeps
 * its tail, from a line start where it can, and says in `cutLines` how many lines it lost, so the parent's
 * line counts stay right.
 */
export const MAX_CHUNK_CHARS = 256 * 1024;

/**
 * Messages {@link OutputStream.emit} may post at once per `flushMs` window. A tool's lines then reach the
 * parent before the tool can hang or exhaust the heap (no timer fires in a synchronous loop, and a thread that
 * is terminated posts nothing more), while a tool that floods lines costs at most this many extra messages per
 * window.
 */
export const EAGER_POSTS = 16;

/**
 * Output the parent may have in flight (posted, not yet taken in), in characters and in batches. Past either,
 * the worker waits for the parent: a tool that writes faster than the host can take it is slowed down instead
 * of filling the host's memory.
 */
export const WINDOW_CHARS = 4 * 1024 * 1024;
export const WINDOW_BATCHES = 256;
/** A batch is posted once it holds this many characters, so one batch stays well inside the window. */
const BATCH_CHARS = WINDOW_CHARS / 4;
/** Longest single wait for the parent before the stop flag is looked at again. */
const CREDIT_WAIT_MS = 50;

/** `Atomics.waitAsync` (Node 16+; its type is in lib ES2024, newer than this package's lib). */
interface AtomicsWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
    timeoutMs: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** Share of the heap limit past which buffered output is posted at once: the heap may be about to run out. */
const HEAP_NEARLY_FULL = 0.9;
/** Checkpoints between two heap checks (reading heap statistics costs about a microsecond). */
const HEAP_CHECK_EVERY = 1024;

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
  #checkpoint: ConversationCheckpoint | undefined;
  #firstAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #windowAt = Number.NEGATIVE_INFINITY;
  #eagerLeft = 0;
  #ticks = 0;
  #batchChars = 0;
  /** The control block, whose `consumed` slot the parent advances as it takes batches in. */
  readonly #control: Int32Array | undefined;
  #memory: { tick(): void } | undefined;
  /** Other tasks share the thread: a synchronous wait would freeze them too (see {@link OutputStream.credit}). */
  readonly #shared: boolean;
  #posted = 0;
  /** Characters of each batch posted and not yet taken in, oldest first. */
  #inFlight: number[] = [];
  #inFlightHead = 0;
  #inFlightChars = 0;

  constructor(
    port: MessagePort,
    batchSize: number,
    flushMs: number,
    options: { control?: Int32Array; memory?: { tick(): void }; shared?: boolean } = {},
  ) {
    this.#port = port;
    this.#batchSize = batchSize;
    this.#flushMs = flushMs;
    this.#control = options.control;
    this.#memory = options.memory;
    this.#shared = options.shared ?? false;
  }

  /** Samples `memory` on every push and tick from now on. */
  watch(memory: { tick(): void }): void {
    this.#memory = memory;
  }

  /** Buffers a chunk; posts the batch when it is full or its oldest item has waited `flushMs`. */
  push(chunk: OutputChunk): void {
    // Redact before cutting, so a secret that straddles the cut cannot survive as an unrecognised tail.
    const redacted = redact(chunk.text);
    const { text, cutLines } = cutFront(redacted);
    this.#arm();
    if (cutLines > 0) this.#batch.push({ ...chunk, text, cutLines });
    else this.#batch.push(text === chunk.text ? chunk : { ...chunk, text });
    this.#batchChars += text.length;
    this.#memory?.tick();
    if (this.#batch.length >= this.#batchSize || this.#batchChars >= BATCH_CHARS || this.#due()) this.flush();
  }

  /** Like {@link push}, for lines a tool writes: posted at once, within {@link EAGER_POSTS} per window. */
  emit(chunk: OutputChunk): void {
    this.push(chunk);
    if (!this.#pending()) return;
    const now = performance.now();
    if (now - this.#windowAt >= this.#flushMs) {
      this.#windowAt = now;
      this.#eagerLeft = EAGER_POSTS;
    }
    if (this.#eagerLeft > 0) {
      this.#eagerLeft -= 1;
      this.flush();
    }
  }

  /**
   * Records the loop's progress; it is sent with the next flush. Its fields replace those of any progress not yet
   * sent, except `spans`, which are appended: every timed step reaches the host once.
   */
  progress(progress: Progress): void {
    this.#arm();
    const next =
      progress.lastText === undefined ? progress : { ...progress, lastText: redact(progress.lastText) };
    const waiting = this.#progress;
    const spans =
      waiting?.spans && next.spans ? [...waiting.spans, ...next.spans] : (next.spans ?? waiting?.spans);
    this.#progress = { ...waiting, ...next, ...(spans ? { spans } : {}) };
  }

  /**
   * Records the conversation after a completed iteration; it rides on the next flush (at the latest the one
   * before the next model call, or the last one when the task ends), replacing any checkpoint not yet sent.
   */
  checkpoint(checkpoint: ConversationCheckpoint): void {
    this.#arm();
    this.#checkpoint = checkpoint;
  }

  /** Flushes when the oldest buffered item has waited `flushMs`, or when the heap is nearly full. */
  tick(): void {
    this.#memory?.tick();
    if (!this.#pending()) return;
    if (this.#due()) this.flush();
    else if (++this.#ticks % HEAP_CHECK_EVERY === 0 && heapNearlyFull()) this.flush();
  }

  /**
   * Posts what is buffered. Then, unless `wait` is false (the thread is exiting), waits while the parent has
   * more than the window in flight.
   */
  flush(wait = true): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!this.#pending()) return;
    const message: WorkerMessage = { kind: 'chunks', chunks: this.#batch };
    if (this.#progress) message.progress = this.#progress;
    if (this.#checkpoint) message.checkpoint = this.#checkpoint;
    const chars = this.#batchChars;
    this.#batch = [];
    this.#batchChars = 0;
    this.#progress = undefined;
    this.#checkpoint = undefined;
    this.#port.postMessage(message);
    this.#posted += 1;
    this.#inFlight.push(chars);
    this.#inFlightChars += chars;
    // On a shared thread the synchronous wait is the last resort, at twice the window: a loop that never
    // yields freezes its co-tenants anyway, and its output must still be bounded. The agent loop waits
    // asynchronously for the normal window at each step (`credit`).
    if (wait) this.#awaitCredit(this.#shared ? 2 : 1);
  }

  /**
   * Waits without blocking the thread while the parent is more than the window behind, until it is down to
   * half of it; at once otherwise. The agent loop calls it before each step, so on a thread shared with other
   * agents (`pool.agentsPerThread` > 1) back-pressure parks this agent only, never its co-tenants.
   */
  async credit(): Promise<void> {
    const control = this.#control;
    if (!control || !this.#shared) return;
    let scale = 1;
    for (;;) {
      const consumed = Atomics.load(control, CONTROL.consumed);
      if (!this.#behind(consumed, scale)) return;
      scale = 0.5;
      if (Atomics.load(control, CONTROL.stop) !== 0) return;
      const waited = (Atomics as unknown as AtomicsWaitAsync).waitAsync(
        control,
        CONTROL.consumed,
        consumed,
        CREDIT_WAIT_MS,
      );
      if (waited.async) await waited.value;
    }
  }

  /**
   * Blocks this thread (it is a worker: `Atomics.wait` is allowed, and a tool's synchronous loop could not
   * yield anyway) while the parent is behind by more than `scale` windows, waking when it takes a batch in. A
   * stop request ends the wait, so back-pressure never delays a cancel.
   */
  #awaitCredit(scale: number): void {
    const control = this.#control;
    if (!control) return;
    // Over the window, wait until the parent is down to half of it: one wake-up per half window, not a thread
    // ping-pong per batch.
    let limit = scale;
    for (;;) {
      const consumed = Atomics.load(control, CONTROL.consumed);
      if (!this.#behind(consumed, limit)) return;
      limit = scale / 2;
      if (Atomics.load(control, CONTROL.stop) !== 0) return;
      Atomics.wait(control, CONTROL.consumed, consumed, CREDIT_WAIT_MS);
    }
  }

  /** Forgets the batches the parent has taken in; true while more than `scale` windows are still in flight. */
  #behind(consumed: number, scale: number): boolean {
    while (this.#posted - (this.#inFlight.length - this.#inFlightHead) < consumed) {
      this.#inFlightChars -= this.#inFlight[this.#inFlightHead]!;
      this.#inFlightHead += 1;
    }
    if (this.#inFlightHead > 1024 && this.#inFlightHead * 2 > this.#inFlight.length) {
      this.#inFlight = this.#inFlight.slice(this.#inFlightHead);
      this.#inFlightHead = 0;
    }
    const batches = this.#posted - consumed;
    if (batches <= 1) return false;
    return this.#inFlightChars > WINDOW_CHARS * scale || batches > WINDOW_BATCHES * scale;
  }

  /** Posts a control message after everything buffered, keeping the port's order. */
  post(message: WorkerMessage): void {
    this.flush(false);
    this.#port.postMessage(message);
  }

  #due(): boolean {
    return performance.now() - this.#firstAt >= this.#flushMs;
  }

  #pending(): boolean {
    return this.#batch.length > 0 || this.#progress !== undefined || this.#checkpoint !== undefined;
  }

  /** Starts the flush clock when the first item of a batch arrives. */
  #arm(): void {
    if (this.#pending()) return;
    this.#firstAt = performance.now();
    this.#timer = setTimeout(() => this.flush(), this.#flushMs);
  }
}

/**
 * `text` cut to its last {@link MAX_CHUNK_CHARS} characters, starting at a line start when the kept part has
 * one, with the number of newline-terminated lines cut from its front.
 */
export function cutFront(text: string): { text: string; cutLines: number } {
  if (text.length <= MAX_CHUNK_CHARS) return { text, cutLines: 0 };
  const earliest = text.length - MAX_CHUNK_CHARS;
  const newline = text.indexOf('\n', earliest - 1);
  const start = newline !== -1 && newline < text.length - 1 ? newline + 1 : earliest;
  let cutLines = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < start; index = text.indexOf('\n', index + 1)) {
    cutLines += 1;
  }
  return { text: text.slice(start), cutLines };
}

function heapNearlyFull(): boolean {
  const heap = getHeapStatistics();
  return heap.used_heap_size > HEAP_NEARLY_FULL * heap.heap_size_limit;
}
