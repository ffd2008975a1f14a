import type { OutputChunk } from '@errand/worker/protocol';
import { isTerminal, type TaskStatus } from '../task-state.js';
import type { Checkpoint, RemoteChange, TaskRecord, TaskRecordPatch, TaskStore } from '../task-store.js';
import { FinishedLog } from './finished-log.js';

/**
 * The asynchronous half of a shared store: what writes this supervisor's changes to the shared backend (Redis)
 * and feeds everyone else's changes back into the view with {@link SharedViewStore.applyRemote}.
 */
export interface SharedStoreBackend {
  create(record: TaskRecord): void;
  update(id: string, patch: TaskRecordPatch): void;
  /** The task's latest checkpoint, kept by the backend for resumes on any machine. */
  saveCheckpoint(id: string, checkpoint: Checkpoint): void;
  /** See {@link TaskStore.follow}. */
  follow(
    id: string,
    onChunks: (chunks: OutputChunk[]) => void,
    ended: () => boolean,
    signal: AbortSignal,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * A task store shared by several supervisors, as one of them sees it: a local view (records by id and by
 * session) that answers every read synchronously, kept current by its backend from the shared store's change
 * feed. This supervisor's own writes land in the view at once and reach the backend in order; writes made
 * before the backend is attached (it loads asynchronously) are replayed when it is.
 *
 * How stale the view is: a change made elsewhere reaches it one Redis round trip after it is written
 * (publish → subscriber), typically well under a millisecond on one host and a network hop between machines.
 * Until the backend's first load completes, other supervisors' tasks are not in it.
 */
export class SharedViewStore implements TaskStore {
  readonly #records = new Map<string, TaskRecord>();
  readonly #bySession = new Map<string, Set<TaskRecord>>();
  readonly #finished: FinishedLog;
  readonly #checkpoints = new Map<string, Checkpoint>();
  /** Checkpoints the backend holds for tasks this view only knows from the feed: their iterations. */
  readonly #remoteCheckpoints = new Map<string, number>();
  readonly #waiters = new Map<string, Array<() => void>>();
  readonly #unfinished = new Map<string, number>();
  /** The status each record was last counted in (the engine patches its own records before it writes them). */
  readonly #counted = new Map<string, TaskStatus>();
  /** Records this supervisor created: its engine is their one writer here, so the feed does not patch them. */
  readonly #own = new Set<string>();
  #queued = 0;
  #backend: SharedStoreBackend | undefined;
  #pending: Array<(backend: SharedStoreBackend) => void> = [];
  #listener: ((change: RemoteChange) => void) | undefined;
  readonly #evictOne = (id: string) => this.#evict(id);

  constructor(retainFinished: number) {
    this.#finished = new FinishedLog(retainFinished);
  }

  /** Connects the backend; writes made before it are replayed in order. */
  attach(backend: SharedStoreBackend): void {
    this.#backend = backend;
    const pending = this.#pending;
    this.#pending = [];
    for (const write of pending) write(backend);
  }

  create(record: TaskRecord): void {
    this.#own.add(record.id);
    this.#insert(record);
    this.#send((backend) => backend.create(record));
  }

  update(id: string, patch: TaskRecordPatch): void {
    const record = this.#records.get(id);
    if (record) this.#patch(record, patch);
    this.#send((backend) => backend.update(id, patch));
  }

  /** Nothing to do: the view applies retention itself when a record turns terminal, whoever wrote it. */
  finish(_id: string): void {}

  get(id: string): TaskRecord | undefined {
    return this.#records.get(id);
  }

  ofSession(sessionId: string): Iterable<TaskRecord> {
    const records = this.#bySession.get(sessionId);
    if (!records) return [];
    return [...records].sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Empty: an unfinished task in a shared store belongs to the cluster, not to a process that died. */
  unfinished(): Iterable<TaskRecord> {
    return [];
  }

  saveCheckpoint(id: string, checkpoint: Checkpoint): void {
    if (this.#records.has(id)) this.#checkpoints.set(id, checkpoint);
  }

  /**
   * The latest checkpoint. One this view only knows by reference (another supervisor's task) comes back with
   * empty `messages`: the worker that runs the resumed task reads the conversation from the backend.
   */
  checkpoint(id: string): Checkpoint | undefined {
    const local = this.#checkpoints.get(id);
    if (local) return local;
    const iterations = this.#remoteCheckpoints.get(id);
    return iterations === undefined ? undefined : { iterations, messages: '' };
  }

  counts(sessionId: string): { unfinished: number; queued: number } {
    return { unfinished: this.#unfinished.get(sessionId) ?? 0, queued: this.#queued };
  }

  watch(listener: (change: RemoteChange) => void): void {
    this.#listener = listener;
  }

  async follow(
    id: string,
    onChunks: (chunks: OutputChunk[]) => void,
    ended: () => boolean,
    signal: AbortSignal,
  ): Promise<void> {
    await this.#backend?.follow(id, onChunks, ended, signal);
  }

  changed(id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiters = this.#waiters.get(id);
      if (waiters) waiters.push(resolve);
      else this.#waiters.set(id, [resolve]);
    });
  }

  async close(): Promise<void> {
    this.#pending = [];
    for (const waiters of this.#waiters.values()) for (const wake of waiters) wake();
    this.#waiters.clear();
    await this.#backend?.close();
  }

  /**
   * A change from the shared store (another supervisor or a worker wrote it): a whole record the view did not
   * have, or a patch to one it has. Wakes whoever waits on the record.
   */
  applyRemote(id: string, change: { record: TaskRecord } | { patch: TaskRecordPatch }): void {
    const known = this.#records.get(id);
    if (!this.#own.has(id)) {
      const before = known && { status: known.status, delivered: known.steering.delivered };
      if ('record' in change) {
        if (known) this.#patch(known, change.record);
        else this.#insert(change.record);
      } else if (known) {
        this.#patch(known, change.patch);
      }
      if (known && before) this.#listener?.({ record: known, before });
    }
    const waiters = this.#waiters.get(id);
    if (waiters) {
      this.#waiters.delete(id);
      for (const wake of waiters) wake();
    }
  }

  /** The backend holds a checkpoint for `id` after `iterations` model turns. */
  noteCheckpoint(id: string, iterations: number): void {
    if (this.#records.has(id)) this.#remoteCheckpoints.set(id, iterations);
  }

  #send(write: (backend: SharedStoreBackend) => void): void {
    if (this.#backend) write(this.#backend);
    else this.#pending.push(write);
  }

  #insert(record: TaskRecord): void {
    this.#records.set(record.id, record);
    const records = this.#bySession.get(record.sessionId);
    if (records) records.add(record);
    else this.#bySession.set(record.sessionId, new Set([record]));
    this.#recount(record);
  }

  #patch(record: TaskRecord, patch: TaskRecordPatch): void {
    const counted = this.#counted.get(record.id);
    // A terminal record never changes status again, whoever writes last (the worker and the supervisor that
    // delegated a task may both report its end).
    if (counted !== undefined && isTerminal(counted) && patch.status !== undefined) {
      const { status: _status, transitions: _transitions, ...rest } = patch;
      Object.assign(record, rest);
      return;
    }
    Object.assign(record, patch);
    this.#recount(record);
  }

  /** Keeps the queued and per-session counts, and retention, in step with the record's status. */
  #recount(record: TaskRecord): void {
    const before = this.#counted.get(record.id);
    if (before === record.status) return;
    this.#counted.set(record.id, record.status);
    this.#count(record.sessionId, before, record.status);
    if (isTerminal(record.status)) this.#finished.push(record.id, this.#evictOne);
  }

  #count(sessionId: string, before: TaskStatus | undefined, after: TaskStatus): void {
    if (before === 'queued') this.#queued -= 1;
    if (after === 'queued') this.#queued += 1;
    const wasOpen = before !== undefined && !isTerminal(before);
    const isOpen = !isTerminal(after);
    if (wasOpen === isOpen) return;
    const count = (this.#unfinished.get(sessionId) ?? 0) + (isOpen ? 1 : -1);
    if (count > 0) this.#unfinished.set(sessionId, count);
    else this.#unfinished.delete(sessionId);
  }

  #evict(id: string): void {
    const record = this.#records.get(id);
    if (!record || !isTerminal(record.status)) return;
    this.#records.delete(id);
    this.#counted.delete(id);
    this.#own.delete(id);
    this.#checkpoints.delete(id);
    this.#remoteCheckpoints.delete(id);
    const records = this.#bySession.get(record.sessionId);
    records?.delete(record);
    if (records?.size === 0) this.#bySession.delete(record.sessionId);
  }
}
