import type { MessagePort } from 'node:worker_threads';

/** A record's row, in the column order of the writer's upsert. */
export type TaskRowValues = [
  id: string,
  sessionId: string,
  status: string,
  createdAt: number,
  endedAt: number | null,
  finishSeq: number | null,
  data: string,
];

/** The signal's second slot: 0 until the host has read the records, then {@link GO_OPEN} or {@link GO_ABORT}. */
export const GO = 1;
/** The host has read the records and closed its connection: open the file. */
export const GO_OPEN = 1;
/** The host's read failed: end without touching the file. */
export const GO_ABORT = 2;

/** What the writer thread starts with. */
export interface WriterData {
  /** The store file, absolute, already checked by the host thread (`prepareStorePath`). */
  path: string;
  /** Two Int32s: the writer sets the first to 1 and notifies after each synchronous reply; the second is {@link GO}. */
  signal: SharedArrayBuffer;
  /** Where synchronous replies go; the host reads them with `receiveMessageOnPort` after `Atomics.wait`. */
  replies: MessagePort;
}

/** Test-only operations on the writer's connection (the store's own tests simulate faults with them). */
export type WriterProbe =
  | { op: 'count'; table: 'tasks' | 'checkpoints' }
  /** Closes the connection under the store, as a dying process would drop it. */
  | { op: 'drop-connection' }
  /** Caps the file at its current page count (`full: true`), as a full disk would, or lifts the cap. */
  | { op: 'page-budget'; full: boolean };

/** Host → writer, in order: a read or probe sees every batch posted before it. */
export type WriterCommand =
  | {
      type: 'batch';
      seq: number;
      rows: TaskRowValues[];
      checkpoints: Array<[taskId: string, iterations: number, messages: string]>;
      deletes: string[];
    }
  /** Synchronous: replies with the task's saved checkpoint or `null`. */
  | { type: 'read'; id: string }
  /** Synchronous, tests only. */
  | { type: 'probe'; probe: WriterProbe }
  | { type: 'close' };

/** An error carried across the thread boundary with what rebuilding it needs (class, fields, SQLite code). */
export interface WireError {
  message: string;
  code?: string;
  kind?: 'invalid_input' | 'store_locked';
  field?: string;
  value?: unknown;
  holder?: 'this-process' | 'another-process';
  path?: string;
  cause?: string;
}

/** A synchronous reply. */
export type WriterReply<T = unknown> = { ok: true; value: T } | { ok: false; error: WireError };

/** The reply to the open: nothing but whether it worked (the host reads the records itself). */
export type OpenReply = WriterReply<null>;

/** Writer → host, asynchronously (the worker's message channel). */
export type WriterEvent =
  | { type: 'done'; seq: number; error?: WireError }
  | { type: 'closed'; error?: WireError };
