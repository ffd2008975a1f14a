import { statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import type { Checkpoint } from '../task-store.js';

/** A record's row, in the column order of the upsert below. */
export type TaskRowValues = [
  id: string,
  sessionId: string,
  status: string,
  createdAt: number,
  endedAt: number | null,
  finishSeq: number | null,
  data: string,
];

const UPSERT_TASK = `INSERT INTO tasks (id, session_id, status, created_at, ended_at, finish_seq, data)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, status = excluded.status,
    created_at = excluded.created_at, ended_at = excluded.ended_at, finish_seq = excluded.finish_seq,
    data = excluded.data`;
const UPSERT_CHECKPOINT = `INSERT INTO checkpoints (task_id, iterations, messages) VALUES (?, ?, ?)
  ON CONFLICT (task_id) DO UPDATE SET iterations = excluded.iterations, messages = excluded.messages`;

/** Ids named in a message about a failed batch, at most. */
const IDS_NAMED = 5;

/**
 * The SQLite store's pending writes, saved in one transaction per tick (`setImmediate`) or as soon as
 * `maxBatch` are pending. What is pending is *which* records changed, not the changes: a record is serialised
 * once, as it is at flush time, however many patches it had in the tick. A checkpoint replaces the pending one
 * of its task; a deletion cancels the task's pending writes.
 *
 * A failed batch is reported once to `onError` and dropped: the in-memory view is already right, and a record
 * is saved whole again at its next change. Nothing here throws to the caller.
 */
export class WriteQueue {
  readonly #db: BetterSqlite3.Database;
  readonly #path: string;
  readonly #maxBatch: number;
  readonly #onError: (error: Error, what: string) => void;
  readonly #rowOf: (id: string) => TaskRowValues | undefined;
  #upserts = new Set<string>();
  #checkpoints = new Map<string, Checkpoint>();
  #deletes = new Set<string>();
  #scheduled: NodeJS.Immediate | undefined;
  #closed = false;
  /** The file's identity at open: a batch written after it was deleted or replaced would reach no one. */
  readonly #inode: number;
  #write:
    | ((upserts: TaskRowValues[], checkpoints: Map<string, Checkpoint>, deletes: Set<string>) => void)
    | undefined;

  constructor(
    db: BetterSqlite3.Database,
    path: string,
    maxBatch: number,
    onError: ((error: Error, what: string) => void) | undefined,
    rowOf: (id: string) => TaskRowValues | undefined,
  ) {
    this.#db = db;
    this.#path = path;
    this.#maxBatch = maxBatch;
    this.#onError = onError ?? warn;
    this.#rowOf = rowOf;
    this.#inode = statSync(path).ino;
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

  /** A checkpoint saved but not yet written: newer than the file's. */
  pendingCheckpoint(id: string): Checkpoint | undefined {
    return this.#checkpoints.get(id);
  }

  /** Writes everything pending in one transaction. Never throws. */
  flush(): void {
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#upserts.size + this.#checkpoints.size + this.#deletes.size === 0) return;
    const upserts = this.#upserts;
    const checkpoints = this.#checkpoints;
    const deletes = this.#deletes;
    this.#upserts = new Set();
    this.#checkpoints = new Map();
    this.#deletes = new Set();
    try {
      if (this.#closed) throw new Error('the store is closed');
      // SQLite keeps writing to the open file after it is unlinked (it has no way to notice with the lock
      // held), so a deleted or replaced file would swallow every batch in silence: one stat per batch says so.
      const now = statSync(this.#path, { throwIfNoEntry: false });
      if (now?.ino !== this.#inode) {
        throw new Error(
          `the store file ${JSON.stringify(this.#path)} was ${now ? 'replaced' : 'deleted'} while open; nothing more can be saved until the store is reopened`,
        );
      }
      const rows: TaskRowValues[] = [];
      // A record that cannot be serialised (a bigint or a cycle in goal metadata) is left out and reported on
      // its own, so that it does not keep the rest of every batch it is in from being saved.
      let unserialisable: { ids: Set<string>; error: unknown } | undefined;
      for (const id of upserts) {
        try {
          const row = this.#rowOf(id);
          if (row) rows.push(row);
        } catch (error) {
          unserialisable ??= { ids: new Set(), error };
          unserialisable.ids.add(id);
        }
      }
      this.#write ??= this.#prepare();
      this.#write(rows, checkpoints, deletes);
      if (unserialisable) {
        this.report(
          unserialisable.error,
          `not saved to ${this.#path}: ${count(unserialisable.ids.size, 'task record')} (${ids(unserialisable.ids)}) that cannot be serialised as JSON`,
        );
      }
    } catch (error) {
      this.report(error, `not saved to ${this.#path}: ${describeBatch(upserts, checkpoints, deletes)}`);
    }
  }

  /** Flushes, then accepts no more writes (later ones are reported as not saved). */
  close(): void {
    this.flush();
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

  #schedule(): void {
    if (this.#upserts.size + this.#checkpoints.size + this.#deletes.size >= this.#maxBatch) this.flush();
    else this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Prepared once, on the first flush: the statements stay valid for the life of the connection. */
  #prepare(): (upserts: TaskRowValues[], checkpoints: Map<string, Checkpoint>, deletes: Set<string>) => void {
    const upsertTask = this.#db.prepare<TaskRowValues>(UPSERT_TASK);
    const upsertCheckpoint = this.#db.prepare<[string, number, string]>(UPSERT_CHECKPOINT);
    const deleteTask = this.#db.prepare<[string]>('DELETE FROM tasks WHERE id = ?');
    const deleteCheckpoint = this.#db.prepare<[string]>('DELETE FROM checkpoints WHERE task_id = ?');
    return this.#db.transaction(
      (upserts: TaskRowValues[], checkpoints: Map<string, Checkpoint>, deletes: Set<string>) => {
        for (const row of upserts) upsertTask.run(...row);
        for (const [id, checkpoint] of checkpoints)
          upsertCheckpoint.run(id, checkpoint.iterations, checkpoint.messages);
        for (const id of deletes) {
          deleteTask.run(id);
          deleteCheckpoint.run(id);
        }
      },
    );
  }
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
