import type { Executor, ExecutorContext, SteerMessage, TaskEnd, TaskRun } from '@errand/core/seams';
import type { Queue } from 'bullmq';
import type { Link } from '../link.js';
import { type ControlMessage, type FeedEvent, jobFor } from '../wire.js';
import type { FeedReader } from './feed-reader.js';

/** How long after a kill a run with no word from its worker is settled here (the worker may be gone). */
const KILL_FALLBACK_MS = 400;
/** BullMQ's highest priority number; places beyond it share it. */
const MAX_PRIORITY = 2_097_152;
/** Attempts per job: a job comes back after a worker died or handed it back while draining. */
const JOB_ATTEMPTS = 20;

/** A run this supervisor submitted and has not seen settle. */
interface Submitted {
  sessionId: string;
  killTimer: NodeJS.Timeout | undefined;
}

/**
 * The supervisor's side of the bullmq executor. `submit` counts the task in against the cluster-wide limits
 * (one Lua step) and adds a BullMQ job whose priority is the task's place among its session's waiting tasks,
 * so workers everywhere take waiting work round-robin across sessions. Runs report back on the feed stream;
 * steer, stop and kill go out on the control channel to whichever worker runs the task.
 *
 * Capacity is unbounded here: the queue in Redis is where work waits, and fair order is kept there.
 */
export class BullmqExecutor implements Executor {
  readonly shared = true;
  readonly #context: ExecutorContext;
  readonly #link: Link;
  readonly #queue: Queue;
  #reader: FeedReader | undefined;
  readonly #runs = new Map<string, Submitted>();
  /** Hand-offs to Redis still in flight: `close` lets them land, so no admitted task is left without its job. */
  readonly #enqueuing = new Set<Promise<void>>();
  readonly #release: () => Promise<void>;
  #closing = false;

  constructor(context: ExecutorContext, link: Link, queue: Queue, release: () => Promise<void>) {
    this.#context = context;
    this.#link = link;
    this.#queue = queue;
    this.#release = release;
  }

  /** Starts taking the feed (the connector creates the reader with this executor's handler). */
  follow(reader: FeedReader): void {
    this.#reader = reader;
  }

  get capacity(): number {
    return this.#closing ? 0 : 1_000_000;
  }

  submit(run: TaskRun): void {
    this.#runs.set(run.taskId, { sessionId: run.sessionId, killTimer: undefined });
    const enqueuing = this.#enqueue(run)
      .catch((error: Error) =>
        this.#settle(run.taskId, {
          status: 'failed',
          exitReason: 'error',
          error: { code: 'unavailable', message: `could not enqueue the task: ${error.message}` },
        }),
      )
      .finally(() => this.#enqueuing.delete(enqueuing));
    this.#enqueuing.add(enqueuing);
  }

  steer(taskId: string, message: SteerMessage): void {
    const { client, keys } = this.#link;
    // The list is for a worker that takes the task later; the channel for the one running it now.
    client
      .multi()
      .rpush(keys.steer(taskId), JSON.stringify(message))
      .expire(keys.steer(taskId), 7 * 24 * 3600)
      .publish(keys.control, JSON.stringify({ op: 'steer', id: taskId, ...message } satisfies ControlMessage))
      .exec()
      .catch((error: Error) => this.#context.events.error(error));
  }

  stop(taskId: string, reason: 'cancel' | 'timeout'): void {
    const { client, keys } = this.#link;
    client
      .multi()
      .set(keys.stop(taskId), reason, 'EX', 7 * 24 * 3600)
      .publish(keys.control, JSON.stringify({ op: 'stop', id: taskId, reason } satisfies ControlMessage))
      .exec()
      .catch((error: Error) => this.#context.events.error(error));
  }

  kill(taskId: string, _reason: string): void {
    const { client, keys } = this.#link;
    client
      .multi()
      .set(keys.stop(taskId), 'cancel', 'EX', 7 * 24 * 3600)
      .publish(keys.control, JSON.stringify({ op: 'kill', id: taskId } satisfies ControlMessage))
      .exec()
      .catch((error: Error) => this.#context.events.error(error));
    // A job no worker has taken yet is simply dropped (an active one is locked and stays).
    this.#queue.remove(taskId).catch(() => {});
    const run = this.#runs.get(taskId);
    if (run && !run.killTimer) {
      // The worker settles a killed run at once; if it is gone (machine lost), the run settles here.
      run.killTimer = setTimeout(
        () =>
          this.#settle(taskId, {
            status: 'cancelled',
            exitReason: 'cancelled',
            error: { code: 'cancelled', message: 'cancelled; its worker did not answer' },
          }),
        KILL_FALLBACK_MS,
      );
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#enqueuing]);
    for (const run of this.#runs.values()) clearTimeout(run.killTimer);
    this.#runs.clear();
    await this.#reader?.close();
    await this.#release();
  }

  /** One event from the feed; events of runs another supervisor submitted are not ours to report. */
  onFeed(event: FeedEvent): void {
    if (!this.#runs.has(event.id)) return;
    const { events } = this.#context;
    switch (event.t) {
      case 'start':
        events.start(event.id);
        break;
      case 'output':
        events.output(event.id, event.chunks, event.progress);
        break;
      case 'checkpoint':
        // The conversation stays in Redis; the engine keeps the reference (a resume reads it there).
        events.checkpoint(event.id, { iterations: event.iterations, messages: '' });
        break;
      case 'settle':
        this.#settle(event.id, event.end);
        break;
    }
  }

  async #enqueue(run: TaskRun): Promise<void> {
    const { limits } = this.#context.options;
    const verdict = await this.#link.admit(
      run.taskId,
      run.sessionId,
      limits.maxTasksPerSession,
      limits.maxQueued,
    );
    if (!verdict.ok) {
      this.#settle(run.taskId, refusal(verdict.refused, verdict.count, limits));
      return;
    }
    await this.#queue.add('task', jobFor(run, limits.cancelGraceMs), {
      jobId: run.taskId,
      priority: Math.min(verdict.place, MAX_PRIORITY),
      attempts: JOB_ATTEMPTS,
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  #settle(taskId: string, end: TaskEnd): void {
    const run = this.#runs.get(taskId);
    if (!run) return;
    clearTimeout(run.killTimer);
    this.#runs.delete(taskId);
    this.#context.events.settle(taskId, end);
    this.#context.events.free();
  }
}

/** How a task the cluster-wide limits refused ends (the same words as the local refusal). */
function refusal(
  refused: string,
  count: number,
  limits: { maxTasksPerSession: number; maxQueued: number },
): TaskEnd {
  if (refused === 'ended') return { status: 'cancelled', exitReason: 'cancelled' };
  const message =
    refused === 'maxTasksPerSession'
      ? `session already has ${count} unfinished tasks across the cluster (limit maxTasksPerSession = ${limits.maxTasksPerSession}); collect or cancel some first`
      : `${count} tasks are already waiting across the cluster (limit maxQueued = ${limits.maxQueued})`;
  return { status: 'failed', exitReason: 'error', error: { code: 'limit_exceeded', message } };
}
