/**
 * Every Redis key errand uses for one queue, named once. errand's own keys live under `errand:<queue>:`;
 * BullMQ's under `bull:<queue>:` (its default prefix). Nothing else writes to either.
 */
export class Keys {
  readonly queue: string;
  readonly #base: string;

  constructor(queue: string) {
    this.queue = queue;
    this.#base = `errand:${queue}`;
  }

  /** A task's record: one hash field per record field, each a JSON value. */
  task(id: string): string {
    return `${this.#base}:task:${id}`;
  }
  /** Every record's id, scored by creation time: what a supervisor loads at start. */
  get tasks(): string {
    return `${this.#base}:tasks`;
  }
  /** A task's latest checkpoint (JSON), for resumes on any worker. */
  checkpoint(id: string): string {
    return `${this.#base}:cp:${id}`;
  }
  /** Steering sent to a task, oldest first: a worker that takes the task reads it at start. */
  steer(id: string): string {
    return `${this.#base}:steer:${id}`;
  }
  /** A stop asked for a task before a worker had it: the worker that takes it ends it at once. */
  stop(id: string): string {
    return `${this.#base}:stop:${id}`;
  }
  /** Set when a draining worker handed the task back: the next worker may start it afresh. */
  handback(id: string): string {
    return `${this.#base}:handback:${id}`;
  }
  /** A task's raw output chunks, a capped stream. */
  output(id: string): string {
    return `${this.#base}:out:${id}`;
  }
  /** Workers → supervisors: start, output, checkpoint and settle of every run, one capped stream. */
  get feed(): string {
    return `${this.#base}:feed`;
  }
  /** Pub/sub channel of record changes, for every supervisor's view. */
  get changes(): string {
    return `${this.#base}:changes`;
  }
  /** Pub/sub channel of steer, stop and kill, for every worker. */
  get control(): string {
    return `${this.#base}:control`;
  }
  /** Tasks admitted and not started, cluster-wide (`maxQueued`). */
  get queued(): string {
    return `${this.#base}:queued`;
  }
  /** One session's tasks admitted and not started: its next task's place in the fair order. */
  sessionQueued(sessionId: string): string {
    return `${this.#base}:queued:${sessionId}`;
  }
  /** One session's unfinished tasks, cluster-wide (`maxTasksPerSession`). */
  sessionUnfinished(sessionId: string): string {
    return `${this.#base}:unfinished:${sessionId}`;
  }
  /** Every key pattern of this queue, errand's and BullMQ's (for tests and `errand worker` cleanup). */
  get patterns(): string[] {
    return [`${this.#base}:*`, `bull:${this.queue}:*`];
  }
}

/** How long a finished task's record, checkpoint and output stay in Redis. */
export const FINISHED_TTL_SECONDS = 7 * 24 * 3600;
/** Entries kept in the feed stream (approximately): what a supervisor reconnecting after a blip can catch up. */
export const FEED_MAXLEN = 100_000;
/** Chunk batches kept per task's output stream (approximately). */
export const OUTPUT_MAXLEN = 1_000;
