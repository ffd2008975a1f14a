import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { InvalidInputError, StoreLockedError } from '../errors.js';
import type { TaskRow } from './record-index.js';
import type {
  OpenReply,
  WireError,
  WriterCommand,
  WriterData,
  WriterEvent,
  WriterProbe,
  WriterReply,
} from './writer-protocol.js';
import { GO, GO_ABORT, GO_OPEN } from './writer-protocol.js';

/** How long the open may take (thread start, lock, migration, reading every record) before it is given up. */
const OPEN_TIMEOUT_MS = 60_000;
/** A synchronous read waits behind the batches posted before it; this bounds the wait. */
const CALL_TIMEOUT_MS = 30_000;

type Batch = Omit<Extract<WriterCommand, { type: 'batch' }>, 'type' | 'seq'>;

/**
 * The host's handle on a store's writer thread (sqlite-writer.ts). Opening is synchronous, as the store's
 * constructor is: the host blocks on `Atomics.wait` until the thread has opened the file and read its
 * records. Batches are posted and acknowledged asynchronously, in order; reads are synchronous round trips
 * that queue behind the batches posted before them, so they see every write handed over.
 *
 * The thread is unreferenced while nothing is in flight, so an idle store never keeps a process alive, and
 * referenced while a batch is, so a process that ends normally saves what it handed over.
 */
export class WriterThread {
  readonly #worker: Worker;
  readonly #replies: MessagePort;
  readonly #flag: Int32Array;
  readonly #onDone: (seq: number, error: Error | undefined) => void;
  #nextSeq = 1;
  #inFlight = new Set<number>();
  #dead: Error | undefined;
  #closing: Promise<void> | undefined;
  #closed: (() => void) | undefined;

  private constructor(
    worker: Worker,
    replies: MessagePort,
    flag: Int32Array,
    onDone: (seq: number, error: Error | undefined) => void,
  ) {
    this.#worker = worker;
    this.#replies = replies;
    this.#flag = flag;
    this.#onDone = onDone;
  }

  /**
   * Starts the thread, runs `readRows` here while it starts, then has the thread open `path` (checked by
   * `prepareStorePath`); returns the thread and the rows, or throws the read's error or the open's, rebuilt on
   * this thread (`InvalidInputError`, `StoreLockedError`, or an `Error` naming the path). No thread is left
   * behind when it throws.
   */
  static open(
    path: string,
    onDone: (seq: number, error: Error | undefined) => void,
    readRows: () => TaskRow[],
  ): { writer: WriterThread; rows: TaskRow[] } {
    const entry = writerEntry();
    // A missing entry would only show as the open timing out a minute later: say what is wrong at once.
    if (!existsSync(entry))
      throw new Error(
        `the SQLite store's writer thread file ${fileURLToPath(entry)} is missing: build @errand/core`,
      );
    const signal = new SharedArrayBuffer(8);
    const { port1, port2 } = new MessageChannel();
    const data: WriterData = { path, signal, replies: port2 };
    // No inherited flags: the host's own (`--input-type`, loaders, `--require` hooks) are not for this thread's code.
    const worker = new Worker(entry, { workerData: data, transferList: [port2], execArgv: [] });
    const flag = new Int32Array(signal);
    const writer = new WriterThread(worker, port1, flag, onDone);
    // The thread starts (tens of milliseconds) while this thread reads every record with its own short-lived
    // connection, which a structured clone of the rows from the thread would cost as much again.
    let rows: TaskRow[];
    try {
      rows = readRows();
    } catch (error) {
      Atomics.store(flag, GO, GO_ABORT);
      Atomics.notify(flag, GO);
      port1.close();
      throw error;
    }
    Atomics.store(flag, GO, GO_OPEN);
    Atomics.notify(flag, GO);
    let reply: OpenReply;
    try {
      reply = writer.#await(OPEN_TIMEOUT_MS, 'open the store file') as OpenReply;
    } catch (error) {
      void worker.terminate();
      port1.close();
      throw error;
    }
    if (!reply.ok) {
      void worker.terminate();
      port1.close();
      throw fromWire(reply.error);
    }
    writer.#listen();
    return { writer, rows };
  }

  /** Batches posted and not yet acknowledged. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Hands a batch over; its outcome reaches `onDone(seq, error)`. Returns its sequence number. */
  post(batch: Batch): number {
    const seq = this.#nextSeq++;
    if (this.#dead || this.#closing) {
      const error = this.#dead ?? new Error('the store is closed');
      queueMicrotask(() => this.#onDone(seq, error));
      return seq;
    }
    if (this.#inFlight.size === 0) this.#worker.ref();
    this.#inFlight.add(seq);
    this.#worker.postMessage({ type: 'batch', seq, ...batch } satisfies WriterCommand);
    return seq;
  }

  /** The task's saved checkpoint, read on the thread after every batch posted so far. Throws on failure. */
  readCheckpoint(id: string): { iterations: number; messages: string } | undefined {
    return (this.#call({ type: 'read', id }) as { iterations: number; messages: string } | null) ?? undefined;
  }

  /** Tests only: see {@link WriterProbe}. */
  probe(probe: WriterProbe): unknown {
    return this.#call({ type: 'probe', probe });
  }

  /** Waits for every batch in flight, closes the connection and ends the thread. Never rejects. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#dead) {
        resolve();
        return;
      }
      this.#closed = resolve;
      this.#worker.ref();
      this.#worker.postMessage({ type: 'close' } satisfies WriterCommand);
    });
    return this.#closing;
  }

  #call(command: WriterCommand): unknown {
    if (this.#dead) throw this.#dead;
    if (this.#closing) throw new Error('the store is closed');
    this.#worker.postMessage(command);
    const reply = this.#await(CALL_TIMEOUT_MS, `answer a ${command.type}`) as WriterReply;
    if (!reply.ok) throw fromWire(reply.error);
    return reply.value;
  }

  /** Blocks until the thread's next synchronous reply. */
  #await(timeoutMs: number, what: string): unknown {
    if (Atomics.wait(this.#flag, 0, 0, timeoutMs) === 'timed-out') {
      throw new Error(`the task store's writer thread did not ${what} within ${timeoutMs / 1000} s`);
    }
    Atomics.store(this.#flag, 0, 0);
    const received = receiveMessageOnPort(this.#replies);
    if (!received) throw new Error(`the task store's writer thread did not ${what}: no reply`);
    return received.message;
  }

  #listen(): void {
    this.#worker.unref();
    this.#worker.on('message', (event: WriterEvent) => {
      if (event.type === 'done') {
        this.#inFlight.delete(event.seq);
        if (this.#inFlight.size === 0 && !this.#closing) this.#worker.unref();
        this.#onDone(event.seq, event.error ? fromWire(event.error) : undefined);
      } else if (event.type === 'closed') {
        this.#dead = new Error('the store is closed');
        if (event.error) this.#onDone(0, fromWire(event.error));
      }
    });
    // The thread should never fail (every command is caught there); if it does, what was in flight is lost.
    this.#worker.on('error', (error) => this.#stop(error));
    this.#worker.on('exit', (code) =>
      this.#stop(new Error(`the task store's writer thread stopped (exit code ${code})`)),
    );
  }

  #stop(error: Error): void {
    this.#replies.close();
    if (!this.#dead) {
      this.#dead = error;
      const lost = [...this.#inFlight];
      this.#inFlight.clear();
      for (const seq of lost) this.#onDone(seq, error);
    }
    this.#closed?.();
  }
}

/**
 * The writer's built entry. Under vitest this module runs from `src/*.ts`, and a worker thread cannot load
 * TypeScript, so it takes the built file beside it in `dist`.
 */
function writerEntry(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? '../../dist/stores/sqlite-writer.js' : './sqlite-writer.js', import.meta.url);
}

/** The thread's error as this thread's class: messages, fields and SQLite codes survive the crossing. */
function fromWire(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : new Error(wire.cause);
  if (wire.kind === 'store_locked')
    return new StoreLockedError(wire.path ?? '', wire.holder ?? 'another-process', { cause });
  if (wire.kind === 'invalid_input')
    return new InvalidInputError(wire.field ?? 'path', wire.value, wire.message, wire.message);
  const error = new Error(wire.message, cause ? { cause } : undefined);
  if (wire.code !== undefined) Object.assign(error, { code: wire.code });
  return error;
}
