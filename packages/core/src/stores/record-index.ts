import { isTerminal, type TaskStatus } from '../task-state.js';
import type { TaskRecord } from '../task-store.js';

/** A `tasks` row as the SQLite store reads it. */
export interface TaskRow {
  id: string;
  session_id: string;
  status: string;
  created_at: number;
  ended_at: number | null;
  finish_seq: number | null;
  data: string;
}

/**
 * A finished record loaded from the file, its JSON not parsed yet. Finished records are most of a file and
 * the largest part of each (result, output tail); parsing them on first use rather than at open halves the
 * time a large store takes to open, and most of them are never read again before retention drops them.
 */
class Unparsed {
  constructor(readonly row: TaskRow) {}
}

/**
 * The SQLite store's records in memory: by id (O(1) `get`) and by session (oldest first). Records the engine
 * created are held as given, so its patches and the store's view are the same object, as in the memory store.
 */
export class RecordIndex {
  readonly #records = new Map<string, TaskRecord | Unparsed>();
  /** Ids per session, in creation order. */
  readonly #bySession = new Map<string, Set<string>>();

  get size(): number {
    return this.#records.size;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  add(record: TaskRecord): void {
    this.#set(record.id, record.sessionId, record);
  }

  /** Adds a row read at open; rows must come in creation order. Unfinished records are parsed at once. */
  addRow(row: TaskRow): void {
    this.#set(
      row.id,
      row.session_id,
      isTerminal(row.status as TaskStatus) ? new Unparsed(row) : recordOf(row),
    );
  }

  get(id: string): TaskRecord | undefined {
    const entry = this.#records.get(id);
    if (!(entry instanceof Unparsed)) return entry;
    const record = recordOf(entry.row);
    this.#records.set(id, record);
    return record;
  }

  delete(id: string): void {
    const entry = this.#records.get(id);
    if (entry === undefined) return;
    this.#records.delete(id);
    const sessionId = entry instanceof Unparsed ? entry.row.session_id : entry.sessionId;
    const ids = this.#bySession.get(sessionId);
    ids?.delete(id);
    if (ids?.size === 0) this.#bySession.delete(sessionId);
  }

  *ofSession(sessionId: string): Generator<TaskRecord> {
    const ids = this.#bySession.get(sessionId);
    if (!ids) return;
    for (const id of ids) {
      const record = this.get(id);
      if (record) yield record;
    }
  }

  /** Records left queued or running. An unparsed entry is always finished, so none is parsed here. */
  *unfinished(): Generator<TaskRecord> {
    for (const entry of this.#records.values())
      if (!(entry instanceof Unparsed) && !isTerminal(entry.status)) yield entry;
  }

  #set(id: string, sessionId: string, entry: TaskRecord | Unparsed): void {
    this.#records.set(id, entry);
    const ids = this.#bySession.get(sessionId);
    if (ids) ids.add(id);
    else this.#bySession.set(sessionId, new Set([id]));
  }
}

/** A record from its row: the queried fields are columns, the rest one JSON document. */
function recordOf(row: TaskRow): TaskRecord {
  let rest: Omit<TaskRecord, 'id' | 'sessionId' | 'status' | 'createdAt' | 'endedAt'>;
  try {
    rest = JSON.parse(row.data);
  } catch (error) {
    throw new Error(`the stored record of task ${row.id} is not valid JSON`, { cause: error });
  }
  const record: TaskRecord = {
    id: row.id,
    sessionId: row.session_id,
    status: row.status as TaskStatus,
    createdAt: row.created_at,
    ...rest,
  };
  if (row.ended_at !== null) record.endedAt = row.ended_at;
  return record;
}
