import { isTerminal } from '../task-state.js';
import type { Checkpoint, TaskRecord, TaskRecordPatch, TaskStore } from '../task-store.js';
import { FinishedLog } from './finished-log.js';

/**
 * The default store: records in memory, indexed by id and by session. Finished records are kept up to
 * `retainFinished` across the supervisor and evicted oldest-finished first, so memory is bounded however many
 * tasks have run.
 */
export class MemoryStore implements TaskStore {
  readonly #finished: FinishedLog;
  readonly #records = new Map<string, TaskRecord>();
  /** Latest checkpoint per retained task: what a resume or a move to another thread starts from. */
  readonly #checkpoints = new Map<string, Checkpoint>();
  readonly #bySession = new Map<string, Set<TaskRecord>>();
  readonly #evictOne = (id: string) => this.#evict(id);

  constructor(retainFinished: number) {
    this.#finished = new FinishedLog(retainFinished);
  }

  /** Records held, finished or not. */
  get size(): number {
    return this.#records.size;
  }

  create(record: TaskRecord): void {
    this.#records.set(record.id, record);
    const records = this.#bySession.get(record.sessionId);
    if (records) records.add(record);
    else this.#bySession.set(record.sessionId, new Set([record]));
  }

  update(id: string, patch: TaskRecordPatch): void {
    const record = this.#records.get(id);
    // The engine writes the same object it created with, so this is usually a no-op re-assignment; a store
    // that copies records (a file, Redis) would apply the patch here.
    if (record) Object.assign(record, patch);
  }

  finish(id: string): void {
    this.#finished.push(id, this.#evictOne);
  }

  get(id: string): TaskRecord | undefined {
    return this.#records.get(id);
  }

  ofSession(sessionId: string): Iterable<TaskRecord> {
    return this.#bySession.get(sessionId) ?? [];
  }

  *unfinished(): Generator<TaskRecord> {
    for (const record of this.#records.values()) if (!isTerminal(record.status)) yield record;
  }

  saveCheckpoint(id: string, checkpoint: Checkpoint): void {
    if (this.#records.has(id)) this.#checkpoints.set(id, checkpoint);
  }

  checkpoint(id: string): Checkpoint | undefined {
    return this.#checkpoints.get(id);
  }

  async close(): Promise<void> {}

  #evict(id: string): void {
    const record = this.#records.get(id);
    if (!record) return;
    this.#records.delete(id);
    this.#checkpoints.delete(id);
    const records = this.#bySession.get(record.sessionId);
    records?.delete(record);
    if (records?.size === 0) this.#bySession.delete(record.sessionId);
  }
}
