import { randomUUID } from 'node:crypto';
import type { SupervisorOptions } from '@errand/core';
import {
  type ExecutorEvents,
  maskUrl,
  PiscinaExecutor,
  resolveOptions,
  type SteerMessage,
  type TaskEnd,
  UnavailableError,
} from '@errand/core/seams';
import { type ConnectionOptions, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { closeClient, openClient, redisOptions, whenReady } from '../connection.js';
import { Keys } from '../keys.js';
import { Link } from '../link.js';
import type { ControlMessage, JobData } from '../wire.js';
import { RunReporter } from './run-reporter.js';
import { runStart, stoppedEnd } from './run-start.js';

/** Options of {@link ErrandWorker.start}: what `errand worker` takes as flags. */
export interface ErrandWorkerOptions {
  /** The Redis URL (`redis://` or `rediss://`). */
  redis: string;
  /** The queue the supervisors enqueue on. @default 'errand' */
  queue?: string;
  /**
   * This worker's config, the same shape as `SupervisorOptions` (an `errand.json`): its `model`, `models`
   * (profiles) and `toolsets` are the allow-list goals are resolved against; `limits` and `pool` apply here.
   */
  config: SupervisorOptions;
  /**
   * Jobs run at once, one worker thread each. @default the config pool's capacity (`maxThreads ×
   * agentsPerThread`, defaults filled in), run on that pool as configured
   */
  concurrency?: number;
  /** On `drain()`, how long running tasks may take to finish before they are handed back. @default 30_000 */
  drainMs?: number;
  /** BullMQ's stalled-job check (and job lock): a dead worker's tasks move on within about twice this. @default 30_000 */
  stalledIntervalMs?: number;
  /** Failures outside any task (a lost connection, a thread that threw). */
  onError?: (error: Error) => void;
}

/** A task this worker runs (or is about to). */
interface Running {
  sessionId: string;
  data: JobData;
  /** Set once submitted to the local executor; control messages before that wait in the fields below. */
  submitted: boolean;
  pendingSteers: SteerMessage[];
  seen: Set<number>;
  stopReason: 'cancel' | 'timeout' | undefined;
  graceTimer: NodeJS.Timeout | undefined;
  timeoutTimer: NodeJS.Timeout | undefined;
  handedBack: boolean;
  settle: (end: TaskEnd) => void;
}

/**
 * An `errand worker`: takes jobs from the BullMQ queue and runs each goal on this machine's piscina executor
 * (worker threads, the same agent loop, providers and toolsets as on one machine), reporting to Redis as it
 * goes. Steer, stop and kill arrive on the control channel; a stop is followed by a hard kill after the task's
 * `cancelGraceMs`, and a run past its `timeoutMs` is stopped here too, so a task whose supervisor is gone still
 * ends.
 *
 * A job that comes back (its worker died: BullMQ's stalled-job check) resumes from the task's last checkpoint,
 * or ends `interrupted` when the task had started and has none.
 */
export class ErrandWorker {
  readonly queue: string;
  readonly concurrency: number;
  readonly #options: ErrandWorkerOptions;
  readonly #executor: PiscinaExecutor;
  readonly #link: Link;
  readonly #subscriber: Redis;
  readonly #bull: Worker<JobData>;
  readonly #reporter: RunReporter;
  readonly #running = new Map<string, Running>();
  readonly #onError: (error: Error) => void;
  readonly #resolved: ReturnType<typeof resolveOptions>;
  #closing: Promise<void> | undefined;

  private constructor(
    options: ErrandWorkerOptions,
    parts: { link: Link; subscriber: Redis; concurrency: number },
  ) {
    this.#options = options;
    this.queue = parts.link.keys.queue;
    this.concurrency = parts.concurrency;
    this.#link = parts.link;
    this.#subscriber = parts.subscriber;
    this.#onError = options.onError ?? (() => {});
    const resolved = resolveOptions({
      ...options.config,
      executor: { kind: 'piscina' },
      // Without --concurrency the worker takes as many jobs as its pool runs at once (the config's pool as
      // given); with it, one thread per job, as many as asked.
      ...(options.concurrency === undefined
        ? {}
        : { pool: { ...options.config.pool, maxThreads: parts.concurrency } }),
    });
    this.#resolved = resolved;
    this.#reporter = new RunReporter(this.#link, resolved.limits.maxResultChars, this.#onError);
    const events: ExecutorEvents = {
      start: (id) => this.#withRun(id, (run) => this.#reporter.started(id, run.sessionId)),
      output: (id, chunks, progress) =>
        this.#withRun(id, (run) => this.#reporter.output(id, run.sessionId, chunks, progress)),
      checkpoint: (id, checkpoint) =>
        this.#withRun(id, (run) => this.#reporter.checkpoint(id, run.sessionId, checkpoint)),
      settle: (id, end) => this.#withRun(id, (run) => run.settle(end)),
      free: () => {},
      error: this.#onError,
      unavailable: this.#onError,
    };
    this.#executor = new PiscinaExecutor({
      options: resolved,
      events,
      delegation: {
        limits: resolved.limits,
        targetFor: () => {
          throw new Error('nested delegation is not available on a bullmq worker');
        },
      },
    });
    const stalledInterval = options.stalledIntervalMs ?? 30_000;
    this.#bull = new Worker<JobData>(this.queue, (job) => this.#process(job), {
      // ioredis options; BullMQ's own type is narrower than ioredis' under exactOptionalPropertyTypes.
      connection: {
        ...redisOptions(options.redis),
        connectionName: `errand-worker-jobs-${options.queue ?? 'errand'}`,
      } as ConnectionOptions,
      concurrency: parts.concurrency,
      stalledInterval,
      lockDuration: stalledInterval,
      maxStalledCount: 20,
      autorun: false,
    });
    this.#bull.on('error', (error) => this.#onError(error));
    // A job BullMQ gives up on (it stalled, or was handed back, more often than its attempts allow) must not leave
    // its task `running` for ever: it ends `failed` here.
    this.#bull.on('failed', (job, error) => {
      const final =
        job && (job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled more than/.test(error.message));
      if (!job || !final) return;
      this.#reporter.settled(job.data.taskId, job.data.sessionId, {
        status: 'failed',
        exitReason: 'crashed',
        error: {
          code: 'worker_crashed',
          message: `gave up after ${job.attemptsMade} attempts: ${error.message}`,
        },
      });
    });
    this.#subscriber.on('message', (_channel: string, message: string) => this.#onControl(message));
  }

  /**
   * Connects, subscribes to the control channel and starts taking jobs. Rejects with an `UnavailableError`
   * naming the URL when Redis does not answer within 3 s.
   */
  static async start(options: ErrandWorkerOptions): Promise<ErrandWorker> {
    const endpoint = maskUrl(options.redis);
    const queue = options.queue ?? 'errand';
    const command = openClient(options.redis, `errand-worker-commands-${queue}`, { autoPipelining: true });
    const subscriber = openClient(options.redis, `errand-worker-control-${queue}`);
    try {
      await Promise.all([whenReady(command, endpoint, 3_000), whenReady(subscriber, endpoint, 3_000)]);
    } catch (error) {
      command.client.disconnect();
      subscriber.client.disconnect();
      throw error instanceof UnavailableError ? error : new UnavailableError(endpoint, String(error));
    }
    const keys = new Keys(queue);
    const concurrency = options.concurrency ?? poolCapacity(options.config);
    const link = new Link(command.client, keys, `worker-${randomUUID()}`);
    const worker = new ErrandWorker(options, { link, subscriber: subscriber.client, concurrency });
    await subscriber.client.subscribe(keys.control);
    void worker.#bull.run().catch((error: Error) => worker.#onError(error));
    await worker.#bull.waitUntilReady();
    return worker;
  }

  /** Tasks running here now. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Takes no new job; lets running tasks finish for `drainMs`, then hands back those still running (their jobs
   * return to the queue and resume from their checkpoints on another worker); then closes. Idempotent.
   */
  drain(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = this.#bull.close();
      const timer = setTimeout(() => this.#handBackAll(), this.#options.drainMs ?? 30_000);
      await closed;
      clearTimeout(timer);
      await this.#shutdown();
    })();
    return this.#closing;
  }

  /** Hands back every running task at once and closes (a drain with no wait). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = this.#bull.close();
      this.#handBackAll();
      await closed;
      await this.#shutdown();
    })();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#executor.close();
    this.#subscriber.removeAllListeners('message');
    await closeClient(this.#subscriber);
    await closeClient(this.#link.client);
  }

  #handBackAll(): void {
    for (const [id, run] of this.#running) {
      run.handedBack = true;
      this.#link.client.set(this.#link.keys.handback(id), '1', 'EX', 3600).catch(this.#onError);
      if (run.submitted) this.#executor.kill(id, 'the worker is shutting down');
      else run.settle({ status: 'failed', exitReason: 'error' });
    }
  }

  #withRun(id: string, act: (run: Running) => void): void {
    const run = this.#running.get(id);
    if (run) act(run);
  }

  async #process(job: Job<JobData>): Promise<string> {
    const data = job.data;
    const id = data.taskId;
    let settle!: (end: TaskEnd) => void;
    const ended = new Promise<TaskEnd>((resolve) => {
      settle = resolve;
    });
    const run: Running = {
      sessionId: data.sessionId,
      data,
      submitted: false,
      pendingSteers: [],
      seen: new Set(),
      stopReason: undefined,
      graceTimer: undefined,
      timeoutTimer: undefined,
      handedBack: false,
      settle,
    };
    // Registered before the first await, so a steer or stop published meanwhile is kept for the run.
    this.#running.set(id, run);
    try {
      const start = await runStart(this.#link, data, this.#resolved, {
        seen: run.seen,
        stopped: () => run.stopReason !== undefined,
      });
      if (run.handedBack) throw new Error('handed back: the worker is shutting down');
      if ('end' in start) {
        this.#reporter.settled(id, run.sessionId, start.end);
        return start.end.status;
      }
      run.submitted = true;
      this.#executor.submit(start.run);
      for (const message of run.pendingSteers) this.#steer(id, run, message);
      if (run.stopReason) this.#stop(id, run, run.stopReason);
      run.timeoutTimer = setTimeout(() => this.#stop(id, run, 'timeout'), data.goal.timeoutMs);
      const end = await ended;
      if (run.handedBack) throw new Error('handed back: the worker is shutting down');
      const final = run.stopReason ? stoppedEnd(end, run.stopReason) : end;
      this.#reporter.settled(id, run.sessionId, final);
      return final.status;
    } finally {
      clearTimeout(run.graceTimer);
      clearTimeout(run.timeoutTimer);
      this.#running.delete(id);
    }
  }

  #onControl(message: string): void {
    let control: ControlMessage;
    try {
      control = JSON.parse(message) as ControlMessage;
    } catch {
      return;
    }
    const run = this.#running.get(control.id);
    if (!run) return;
    switch (control.op) {
      case 'steer':
        if (run.submitted) this.#steer(control.id, run, { seq: control.seq, text: control.text });
        else run.pendingSteers.push({ seq: control.seq, text: control.text });
        break;
      case 'stop':
        if (run.submitted) this.#stop(control.id, run, control.reason);
        else run.stopReason ??= control.reason;
        break;
      case 'kill':
        run.stopReason ??= 'cancel';
        if (run.submitted) this.#executor.kill(control.id, 'cancelled');
        break;
    }
  }

  #steer(id: string, run: Running, message: SteerMessage): void {
    if (run.seen.has(message.seq)) return;
    run.seen.add(message.seq);
    this.#executor.steer(id, message);
  }

  /** Cooperative stop now, hard kill after the task's grace. */
  #stop(id: string, run: Running, reason: 'cancel' | 'timeout'): void {
    if (run.graceTimer) return;
    run.stopReason ??= reason;
    this.#executor.stop(id, reason);
    run.graceTimer = setTimeout(
      () => this.#executor.kill(id, `task ${id} ended ${reason}`),
      run.data.cancelGraceMs,
    );
  }
}

/** Agents the config's pool runs at once (`maxThreads × agentsPerThread`, with the defaults filled in). */
function poolCapacity(config: ErrandWorkerOptions['config']): number {
  const { pool } = resolveOptions({ ...config, executor: { kind: 'piscina' } });
  return pool.maxThreads * pool.agentsPerThread;
}
