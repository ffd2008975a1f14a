import type { Checkpoint } from '../task-store.js';
import type { TaskRowValues } from './writer-protocol.js';
import type { WriterThread } from './writer-thread.js';

export type { TaskRowValues } from './writer-protocol.js';

/** Batches handed to the writer thread and not yet written; more wait on this side and merge. */
const MAX_IN_FLIGHT = 2;

/** Ids named in a message about a failed batch, at most. */
const IDS_NAMED = 5;

/** What a batch held, kept until the writer acknowledges it so that a failure can say what was not saved. */
interface Sent {
  upserts: Set<string>;
  checkpoints: Map<string, Checkpoint>;
  deletes: Set<string>;
}

/**
 * The SQLite store's pending writes, handed to the writer thread as one batch (one transaction) per tick
 * (`setImmediate`) or as soon as `maxBatch` are pending. What is pending is *which* records changed, not the
 * changes: a record is serialised once, as it is at hand-over time, however many patches it had in the tick.
 * A checkpoint replaces the pending one of its task; a deletion cancels the task's pending writes.
 *
 * At most {@link MAX_IN_FLIGHT} batches are with the writer at a time; while it is behind (a slow disk), new
 * writes keep merging here, so memory holds at most one pending record and checkpoint per task, not a backlog.
 *
 * A failed batch is reported once to `onError` and dropped: the in-memory view is already right, and a record
 * is saved whole again at its next change. Nothing here throws to the caller.
 */
export class WriteQueue {
  readonly #path: string;
  readonly #maxBatch: number;
  readonly #onError: (error: Error, what: string) => void;
  readonly #rowOf: (id: string) => TaskRowValues | undefined;
  #writer: WriterThread | undefined;
  #upserts = new Set<string>();
  #checkpoints = new Map<string, Checkpoint>();
  #deletes = new Set<string>();
  readonly #sent = new Map<number, Sent>();
  #scheduled: NodeJS.Immediate | undefined;
  #idle: Array<() => void> = [];
  #closed = false;

  constructor(
    path: string,
    maxBatch: number,
    onError: ((error: Error, what: string) => void) | undefined,
    rowOf: (id: string) => TaskRowValues | undefined,
  ) {
    this.#path = path;
    this.#maxBatch = maxBatch;
    this.#onError = onError ?? warn;
    this.#rowOf = rowOf;
  }

  /** Connects the queue to its writer (opened after the queue, whose `done` it reports to). */
  attach(writer: WriterThread): void {
    this.#writer = writer;
    // What the open wrote (retention, finish numbers) goes at once: the open is the moment it is expected.
    this.#handOver();
  }

  upsert(id: string): void {
    this.#upserts.add(id);
    this.#schedule();
  }

  checkpoint(id: string, checkpoint: Checkpoint): void {
    this.#checkpoints.set(id, checkpoint);
    this.#schedule();
  }

  delete(id: string): void {
    this.#upserts.delete(id);
    this.#checkpoints.delete(id);
    this.#deletes.add(id);
    this.#schedule();
  }

  /** A checkpoint saved but not handed to the writer yet: newer than any the writer can read. */
  pendingCheckpoint(id: string): Checkpoint | undefined {
    return this.#checkpoints.get(id);
  }

  /**
   * Hands everything pending to the writer now (or as soon as it catches up); resolves once all of it is
   * written or reported. Never rejects.
   */
  flush(): Promise<void> {
    this.#handOver();
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Called by the writer thread for each batch it acknowledges (`seq` 0: the close itself failed). */
  done(seq: number, error: Error | undefined): void {
    const sent = this.#sent.get(seq);
    this.#sent.delete(seq);
    if (error) {
      this.report(
        error,
        sent
          ? `not saved to ${this.#path}: ${describeBatch(sent.upserts, sent.checkpoints, sent.deletes)}`
          : `${this.#path} could not be closed cleanly`,
      );
    }
    if (this.#pending() > 0 && !this.#scheduled) this.#handOver();
    if (this.#isIdle()) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Hands over what is pending, waits for it, then accepts no more writes (later ones are reported). */
  async close(): Promise<void> {
    this.#handOver(true);
    await this.flush();
    this.#closed = true;
  }

  /** Hands a failure to `onError`; a throwing handler is turned into a warning rather than thrown from a write. */
  report(error: unknown, what: string): void {
    const reported = error instanceof Error ? error : new Error(String(error));
    try {
      this.#onError(reported, what);
    } catch (handlerError) {
      warn(handlerError instanceof Error ? handlerError : new Error(String(handlerError)), 'onError threw');
    }
  }

  #pending(): number {
    return this.#upserts.size + this.#checkpoints.size + this.#deletes.size;
  }

  #isIdle(): boolean {
    return this.#pending() === 0 && this.#sent.size === 0;
  }

  #schedule(): void {
    if (this.#pending() >= this.#maxBatch) this.#handOver();
    else this.#scheduled ??= setImmediate(() => this.#handOver());
  }

  /** Posts one batch of everything pending, unless the writer is {@link MAX_IN_FLIGHT} batches behind. */
  #handOver(force = false): void {
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    const writer = this.#writer;
    if (!writer || this.#pending() === 0) return;
    if (!force && writer.inFlight >= MAX_IN_FLIGHT) return;
    const sent: Sent = { upserts: this.#upserts, checkpoints: this.#checkpoints, deletes: this.#deletes };
    this.#upserts = new Set();
    this.#checkpoints = new Map();
    this.#deletes = new Set();
    if (this.#closed) {
      this.report(new Error('the store is closed'), `not saved to ${this.#path}: ${describe(sent)}`);
      return;
    }
    const rows: TaskRowValues[] = [];
    // A record that cannot be serialised (a bigint or a cycle in goal metadata) is left out and reported on
    // its own, so that it does not keep the rest of every batch it is in from being saved.
    let unserialisable: { ids: Set<string>; error: unknown } | undefined;
    for (const id of sent.upserts) {
      try {
        const row = this.#rowOf(id);
        if (row) rows.push(row);
      } catch (error) {
        unserialisable ??= { ids: new Set(), error };
        unserialisable.ids.add(id);
      }
    }
    const checkpoints: Array<[string, number, string]> = [];
    for (const [id, checkpoint] of sent.checkpoints)
      checkpoints.push([id, checkpoint.iterations, checkpoint.messages]);
    const seq = writer.post({ rows, checkpoints, deletes: [...sent.deletes] });
    this.#sent.set(seq, sent);
    if (unserialisable) {
      this.report(
        unserialisable.error,
        `not saved to ${this.#path}: ${count(unserialisable.ids.size, 'task record')} (${ids(unserialisable.ids)}) that cannot be serialised as JSON`,
      );
    }
  }
}

function describe(sent: Sent): string {
  return describeBatch(sent.upserts, sent.checkpoints, sent.deletes);
}

function describeBatch(
  upserts: Set<string>,
  checkpoints: Map<string, Checkpoint>,
  deletes: Set<string>,
): string {
  const parts: string[] = [];
  if (upserts.size > 0) parts.push(`${count(upserts.size, 'task record')} (${ids(upserts)})`);
  if (checkpoints.size > 0)
    parts.push(`${count(checkpoints.size, 'checkpoint')} (of ${ids(checkpoints.keys())})`);
  if (deletes.size > 0) parts.push(`${count(deletes.size, 'retention deletion')} (${ids(deletes)})`);
  return parts.join(', ');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function ids(values: Iterable<string>): string {
  const named: string[] = [];
  let total = 0;
  for (const id of values) {
    total += 1;
    if (named.length < IDS_NAMED) named.push(id);
  }
  return total > named.length ? `${named.join(', ')}, …` : named.join(', ');
}

function warn(error: Error, what: string): void {
  process.emitWarning(`errand SQLite task store: ${what}: ${error.message}`, { code: 'ERRAND_STORE_WRITE' });
}
