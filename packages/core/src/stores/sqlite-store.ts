import { describeValue, InvalidInputError } from '../errors.js';
import { isTerminal, type TaskStatus } from '../task-state.js';
import type { Checkpoint, TaskRecord, TaskRecordPatch, TaskStore } from '../task-store.js';
import { FinishedLog } from './finished-log.js';
import { RecordIndex, type TaskRow } from './record-index.js';
import { prepareStorePath, readStoreRows } from './sqlite-file.js';
import { hold, release } from './store-lock.js';
import { type TaskRowValues, WriteQueue } from './write-queue.js';
import type { WriterProbe } from './writer-protocol.js';
import { WriterThread } from './writer-thread.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Finished records kept, with their checkpoints and output; older ones are deleted from the file as newer
   * ones finish, and at open, so the file stays bounded however many tasks have run.
   *
   * @example 1000
   */
  retainFinished: number;
  /**
   * Called once per batch of writes that could not be saved (disk full, file removed, connection lost), with
   * the error and a sentence naming what was not saved. Writes never throw: the engine calls them on its hot
   * path, and the in-memory view stays correct whatever the file does.
   *
   * @default emits a process warning (`ERRAND_STORE_WRITE`)
   * @example (error, what) => logger.error({ err: error }, what)
   */
  onError?: (error: Error, what: string) => void;
  /**
   * Pending writes (records, checkpoints, deletions) at which a batch is handed to the writer at once instead
   * of at the end of the tick.
   *
   * @default 256
   */
  maxBatch?: number;
}

/**
 * A durable task store in one SQLite file (WAL mode, held exclusively by one supervisor), from
 * {@link openSqliteStore}.
 *
 * Reads are synchronous and never touch the file, except `checkpoint`: every retained record is held in
 * memory, loaded at open. Writes change the in-memory view at once and are handed, one batch per tick (or
 * sooner, when `maxBatch` writes are pending), to the store's own writer thread, which owns the connection:
 * transactions, SQLite's WAL checkpoints and their fsyncs never run on the host's event loop. A crash loses
 * at most the writes of the last batch or two (a few milliseconds).
 */
export interface SqliteStore extends TaskStore {
  /** The file, absolute. */
  readonly path: string;
  /** Records held, finished or not. */
  readonly size: number;
  /**
   * Hands pending writes to the writer now rather than at the end of the tick; resolves once they and every
   * earlier write are saved or reported. Never rejects (failures go to `onError`).
   */
  flush(): Promise<void>;
}

/**
 * Opens (creating it and its folders if missing) the SQLite file at `path` as a task store. Synchronous;
 * throws `StoreLockedError` when another live store holds the file (in this process or another), and an
 * error naming the path when the file is not a task store (left untouched) or the path cannot be written.
 * Needs the optional peer dependency `better-sqlite3` (12.x).
 *
 * @example
 * const store = openSqliteStore('.errand/tasks.db', { retainFinished: 1000 });
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions): SqliteStore {
  const retainFinished = options?.retainFinished;
  if (typeof retainFinished !== 'number' || !Number.isInteger(retainFinished) || retainFinished < 0) {
    throw new InvalidInputError(
      'retainFinished',
      retainFinished,
      `must be an integer >= 0, got ${describeValue(retainFinished)}`,
    );
  }
  const maxBatch = options.maxBatch ?? 256;
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new InvalidInputError(
      'maxBatch',
      maxBatch,
      `must be an integer >= 1, got ${describeValue(maxBatch)}`,
    );
  if (options.onError !== undefined && typeof options.onError !== 'function')
    throw new InvalidInputError(
      'onError',
      options.onError,
      `must be a function, got ${describeValue(options.onError)}`,
    );
  const file = prepareStorePath(path);
  const queue = new WriteQueue(file.path, maxBatch, options.onError, (id) => store?.rowOf(id));
  const { writer, rows } = WriterThread.open(
    file.path,
    (seq, error) => queue.done(seq, error),
    () => readStoreRows(file.path),
  );
  hold(file.realPath);
  let store: SqliteTaskStore | undefined;
  try {
    store = new SqliteTaskStore(file.path, file.realPath, retainFinished, queue, writer, rows);
    return store;
  } catch (error) {
    void writer.close().finally(() => release(file.realPath));
    throw new Error(
      `cannot open the task store ${JSON.stringify(file.path)}: its records cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Each open store's writer, for this package's tests (see {@link probeStore}). */
const writers = new WeakMap<object, WriterThread>();

/**
 * Runs a test-only operation on a store's connection (count rows, drop the connection as a dying process
 * would, fill the "disk"). Not exported from the package.
 * @internal
 */
export function probeStore(store: SqliteStore, probe: WriterProbe): unknown {
  const writer = writers.get(store);
  if (!writer) throw new Error('not an open SQLite store');
  return writer.probe(probe);
}

/** The store: the driver's types stay out of the public declarations, which name only the interface. */
class SqliteTaskStore implements SqliteStore {
  readonly path: string;
  readonly #realPath: string;
  readonly #writer: WriterThread;
  readonly #finished: FinishedLog;
  readonly #evictOne = (id: string) => this.#evict(id);
  readonly #records = new RecordIndex();
  /** Finish order of each retained finished record, saved with it so retention survives a restart. */
  readonly #finishSeq = new Map<string, number>();
  #nextSeq = 1;
  readonly #queue: WriteQueue;
  #closed = false;

  constructor(
    path: string,
    realPath: string,
    retainFinished: number,
    queue: WriteQueue,
    writer: WriterThread,
    rows: TaskRow[],
  ) {
    this.path = path;
    this.#realPath = realPath;
    this.#finished = new FinishedLog(retainFinished);
    this.#queue = queue;
    this.#writer = writer;
    this.#load(rows);
    queue.attach(writer);
    writers.set(this, writer);
  }

  /** The row the writer saves for record `id`, serialised as it is now. */
  rowOf(id: string): TaskRowValues | undefined {
    const record = this.#records.get(id);
    return record ? rowOf(record, this.#finishSeq.get(id)) : undefined;
  }

  get size(): number {
    return this.#records.size;
  }

  create(record: TaskRecord): void {
    this.#records.add(record);
    this.#queue.upsert(record.id);
  }

  update(id: string, patch: TaskRecordPatch): void {
    const record = this.#records.get(id);
    if (!record) return;
    // The engine usually patches the same object it created with; a reopened store holds its own copies.
    Object.assign(record, patch);
    this.#queue.upsert(id);
  }

  finish(id: string): void {
    if (!this.#records.has(id) || this.#finishSeq.has(id)) return;
    this.#finishSeq.set(id, this.#nextSeq++);
    this.#queue.upsert(id);
    this.#finished.push(id, this.#evictOne);
  }

  get(id: string): TaskRecord | undefined {
    return this.#records.get(id);
  }

  ofSession(sessionId: string): Iterable<TaskRecord> {
    return this.#records.ofSession(sessionId);
  }

  unfinished(): Iterable<TaskRecord> {
    return this.#records.unfinished();
  }

  saveCheckpoint(id: string, checkpoint: Checkpoint): void {
    if (this.#records.has(id)) this.#queue.checkpoint(id, checkpoint);
  }

  checkpoint(id: string): Checkpoint | undefined {
    if (!this.#records.has(id)) return undefined;
    const pending = this.#queue.pendingCheckpoint(id);
    if (pending) return pending;
    if (this.#closed) return undefined;
    try {
      return this.#writer.readCheckpoint(id);
    } catch (error) {
      this.#queue.report(error, `the checkpoint of task ${id} could not be read from ${this.path}`);
      return undefined;
    }
  }

  flush(): Promise<void> {
    return this.#queue.flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#queue.close();
      await this.#writer.close();
    } finally {
      release(this.#realPath);
    }
  }

  #evict(id: string): void {
    if (!this.#records.has(id)) return;
    this.#records.delete(id);
    this.#finishSeq.delete(id);
    this.#queue.delete(id);
  }

  /** Loads every record (oldest first), then applies retention, deleting what it drops from the file. */
  #load(rows: TaskRow[]): void {
    const finished: Array<{ id: string; seq: number | null; endedAt: number }> = [];
    for (const row of rows) {
      this.#records.addRow(row);
      if (isTerminal(row.status as TaskStatus)) {
        finished.push({ id: row.id, seq: row.finish_seq, endedAt: row.ended_at ?? 0 });
        if (row.finish_seq !== null && row.finish_seq >= this.#nextSeq) this.#nextSeq = row.finish_seq + 1;
      }
    }
    // The saved order continues: new finishes number on from the highest saved. A terminal record whose finish
    // was not saved (the process died between the two writes) counts as finished after the others, and gets
    // its number now.
    finished.sort(
      (a, b) =>
        (a.seq ?? Number.POSITIVE_INFINITY) - (b.seq ?? Number.POSITIVE_INFINITY) || a.endedAt - b.endedAt,
    );
    for (const entry of finished) {
      if (entry.seq === null) {
        this.#finishSeq.set(entry.id, this.#nextSeq++);
        this.#queue.upsert(entry.id);
      } else this.#finishSeq.set(entry.id, entry.seq);
      this.#finished.push(entry.id, this.#evictOne);
    }
  }
}

/** A record's row: the queried fields as columns, the rest as one JSON document. */
function rowOf(record: TaskRecord, finishSeq: number | undefined): TaskRowValues {
  const { id, sessionId, status, createdAt, endedAt, ...rest } = record;
  return [id, sessionId, status, createdAt, endedAt ?? null, finishSeq ?? null, JSON.stringify(rest)];
}
