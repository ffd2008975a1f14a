import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import {
  CONTROL,
  STOP_CANCEL,
  STOP_TIMEOUT,
  type TaskPayload,
  type WorkerMessage,
} from '@errand/worker/protocol';
import { Piscina } from 'piscina';
import type { Executor, ExecutorContext, SteerMessage, TaskRun } from '../../executor.js';
import type { TaskEnd } from '../../task-end.js';
import {
  type Carried,
  type Channel,
  freshChunks,
  MAX_BLIND_MOVES,
  MAX_HANDOFFS,
  stoppedWhileStalled,
  waiting,
} from './channel.js';
import { openBridge } from './host-bridge.js';
import { endFromCrash, endFromOutcome } from './outcome.js';
import { createPool, type Placement } from './pool.js';
import { Tenancy } from './tenancy.js';

/**
 * Runs tasks on worker threads of this process through Piscina: `pool.agentsPerThread` agent loops per thread,
 * a MessagePort per run for output and steering, a `SharedArrayBuffer` control block that a busy loop reads
 * with one `Atomics.load`, and a Comlink bridge for host tools, host models and nested delegation.
 *
 * A thread that dies takes only its culprit with it: the other runs on it move to another thread from their
 * latest checkpoint (see {@link Tenancy}), each told so by an output line.
 */
export class PiscinaExecutor implements Executor {
  readonly #context: ExecutorContext;
  readonly #pool: Piscina;
  readonly #channels = new Map<string, Channel>();
  readonly #tenancy = new Tenancy<Channel>();
  /** Runs handed to Piscina whose promise has not settled: at most `maxThreads × agentsPerThread`. */
  #inPool = 0;
  /** Who waits for `#inPool` to reach 0 (only `close`). */
  readonly #idle: Array<() => void> = [];

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#pool = createPool(context.options, { ending: (threadId) => this.#tenancy.ending(threadId) });
    // Without a listener an 'error' event would crash the host; a worker that fails outside a task is news,
    // not a reason to die.
    this.#pool.on('error', (error: Error) => context.events.error(error));
    // Piscina rejects a dead thread's runs synchronously, one after another, before this fires; their
    // handlers (microtasks) have all run by the next macrotask.
    this.#pool.on('workerDestroy', (worker: { id: number }) =>
      setImmediate(() => this.#tenancy.buried(worker.id)),
    );
  }

  get capacity(): number {
    const { maxThreads, agentsPerThread } = this.#context.options.pool;
    return maxThreads * agentsPerThread - this.#inPool;
  }

  submit(run: TaskRun): void {
    this.#inPool += 1;
    this.#dispatch(run, run.steering, 1, {
      latest: run.checkpoint,
      steerSeq: 0,
      ackedSeq: 0,
      blindMoves: 0,
    });
  }

  /**
   * Hands a run to Piscina on a fresh port and control block. A thread that does not start it within
   * `pool.startTimeoutMs` is taken to be wedged (a timer its previous task left spinning keeps its event loop
   * busy, so it never reads the run): that thread is ended and the run moves to a fresh one with its steering
   * replayed. The slot stays the run's throughout.
   */
  #dispatch(run: TaskRun, steering: readonly SteerMessage[], handoffs: number, carried: Carried): void {
    const { options, events } = this.#context;
    const { pool, limits } = options;
    const { port1, port2 } = new MessageChannel();
    const buffer = new SharedArrayBuffer(CONTROL.length * Int32Array.BYTES_PER_ELEMENT);
    const channel: Channel = {
      ...carried,
      taskId: run.taskId,
      run,
      port: port1,
      control: new Int32Array(buffer),
      bridge: openBridge(run, options, this.#context.delegation),
      unstartedSteers: [],
      sent: [],
      startTimer: undefined,
      handoffs,
      superseded: false,
      threadId: undefined,
      fatal: undefined,
      exiting: undefined,
      watchdog: undefined,
    };
    this.#channels.set(run.taskId, channel);
    port1.on('message', (message: WorkerMessage) => this.#onMessage(channel, message));
    // Steering sent before the hand-off is queued on the port before the worker can read it.
    for (const message of steering) this.steer(run.taskId, message);
    channel.startTimer = setTimeout(() => this.#restart(channel), pool.startTimeoutMs);
    const { goal } = run;
    const payload: TaskPayload = {
      taskId: run.taskId,
      sessionId: run.sessionId,
      goal: goal.goal,
      toolsets: goal.toolsets,
      model: goal.model,
      maxIterations: goal.maxIterations,
      port: port2,
      control: buffer,
      batchSize: pool.outputBatchSize,
      flushMs: pool.outputFlushMs,
      maxToolResultChars: limits.maxToolResultChars,
      maxCheckpointChars: limits.maxCheckpointChars,
      maxExternalBytes: pool.maxExternalMb * 1024 * 1024,
    };
    if (pool.agentsPerThread > 1) payload.shared = true;
    if (goal.context !== undefined) payload.context = goal.context;
    if (run.checkpoint) payload.resume = run.checkpoint;
    const transferList: MessagePort[] = [port2];
    if (channel.bridge) {
      payload.bridge = channel.bridge.spec;
      transferList.push(channel.bridge.spec.port);
    }
    // The balancer reads this (a symbol key: never cloned into the worker) to say which thread took the run.
    const placement: Placement = {
      placed: (threadId) => {
        channel.threadId = threadId;
        if (!channel.superseded) this.#tenancy.place(channel, threadId);
      },
    };
    this.#pool
      .run(Object.assign(payload, { [Piscina.queueOptionsSymbol]: placement }), { transferList })
      .then(
        (outcome: unknown) => this.#settle(channel, () => endFromOutcome(outcome)),
        (error: unknown) => this.#crashed(channel, error),
      )
      .finally(() => {
        if (channel.superseded) return;
        // The thread is free only once Piscina settles, even if the task was finished earlier (a hard stop).
        this.#inPool -= 1;
        events.free();
        if (this.#inPool === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
  }

  #restart(channel: Channel): void {
    if (!this.#current(channel) || channel.unstartedSteers === undefined) return;
    const steering = channel.unstartedSteers;
    // Killed before it started: it is not handed on.
    const stopped = Atomics.load(channel.control, CONTROL.stop) !== 0;
    this.#supersede(channel, `task ${channel.taskId} moved to a fresh thread`);
    this.#endThread(
      channel,
      `its thread did not start task ${channel.taskId} within pool.startTimeoutMs`,
      channel,
    );
    const { startTimeoutMs } = this.#context.options.pool;
    if (channel.handoffs >= MAX_HANDOFFS || stopped) {
      // The slot is released by this attempt's own settle, as for any run.
      channel.superseded = false;
      this.#context.events.settle(channel.taskId, {
        status: 'failed',
        exitReason: 'crashed',
        error: {
          code: 'worker_crashed',
          message: `no worker thread started the task within ${startTimeoutMs} ms, ${MAX_HANDOFFS} times (pool.startTimeoutMs)`,
        },
      });
      return;
    }
    const { latest, steerSeq, ackedSeq, blindMoves } = channel;
    this.#dispatch(channel.run, steering, channel.handoffs + 1, { latest, steerSeq, ackedSeq, blindMoves });
  }

  steer(taskId: string, message: SteerMessage): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
    channel.unstartedSteers?.push(message);
    channel.sent.push(message);
    channel.port.postMessage({ kind: 'steer', seq: message.seq, text: message.text });
    Atomics.add(channel.control, CONTROL.steerCount, 1);
    this.#watch(channel);
  }

  stop(taskId: string, reason: 'cancel' | 'timeout'): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
    Atomics.store(channel.control, CONTROL.stop, reason === 'timeout' ? STOP_TIMEOUT : STOP_CANCEL);
    channel.port.postMessage({ kind: 'cancel' });
    this.#watch(channel);
  }

  /**
   * A co-tenant that never yields (a CPU-bound tool without checkpoints) would hold this run's steering and
   * stop for as long as it spins. So, on a shared thread, `cancelGraceMs` after steering or a stop, if the
   * thread's heartbeat has not moved and the run is still waiting, and another run on it is inside a tool's
   * synchronous code: that one is left where it is, and every other run on the thread moves (a stopping one
   * just ends). The stop runs before the engine's own grace timer, set just after this one.
   */
  #watch(channel: Channel): void {
    const { pool, limits } = this.#context.options;
    if (pool.agentsPerThread <= 1 || channel.watchdog || channel.unstartedSteers !== undefined) return;
    const beat = Atomics.load(channel.control, CONTROL.beat);
    channel.watchdog = setTimeout(
      () => {
        channel.watchdog = undefined;
        if (!this.#current(channel) || !waiting(channel)) return;
        if (Atomics.load(channel.control, CONTROL.beat) !== beat) {
          this.#watch(channel);
          return;
        }
        const tenants = [...this.#tenancy.tenants(channel.threadId)];
        const spinner = tenants.find((tenant) => Atomics.load(tenant.control, CONTROL.busy) === 1);
        if (!spinner || spinner === channel || channel.threadId === undefined) return;
        this.#tenancy.stall(channel.threadId);
        const why = `task ${spinner.taskId} has kept its thread from yielding for over limits.cancelGraceMs`;
        for (const tenant of tenants) {
          if (tenant === spinner) continue;
          if (Atomics.load(tenant.control, CONTROL.stop) !== 0) this.#settle(tenant, stoppedWhileStalled);
          else this.#move(tenant, why, false);
        }
      },
      Math.max(limits.cancelGraceMs, 1),
    );
  }

  kill(taskId: string, reason: string): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
    // Host calls in flight for the task are rejected now: Comlink never settles a call whose worker died.
    channel.bridge?.close(reason);
    // Whatever the worker posted before it is terminated is read now (a worker stuck in a loop can still have
    // flushed its last lines), so the output tail shows what it did last.
    this.#drain(channel);
    // A run that has not started ends itself when it does; its thread, and any co-tenants, are left alone.
    if (Atomics.load(channel.control, CONTROL.stop) === 0)
      Atomics.store(channel.control, CONTROL.stop, STOP_CANCEL);
    const started = channel.unstartedSteers === undefined;
    if (started || this.#tenancy.tenants(channel.threadId).size <= 1)
      this.#endThread(channel, `task ${taskId} was stopped hard (limits.cancelGraceMs)`, channel);
  }

  async close(): Promise<void> {
    // A run can be killed before Piscina has settled it and replaced the thread; destroying the pool in
    // between would race that replacement.
    while (this.#inPool > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#pool.destroy();
  }

  /** Terminates the thread `channel` was posted to, naming the culprit for the runs on it. */
  #endThread(channel: Channel, why: string, culprit: Channel | undefined): void {
    const threadId = channel.threadId;
    if (threadId === undefined || this.#tenancy.dying(threadId)) return;
    this.#tenancy.end(threadId, culprit, why);
    void this.#pool.threads.find((thread) => thread.threadId === threadId)?.terminate();
  }

  #onMessage(channel: Channel, message: WorkerMessage): void {
    const { events } = this.#context;
    const taskId = channel.taskId;
    // A message means the thread yields again.
    if (this.#tenancy.stalled(channel.threadId)) this.#tenancy.unstall(channel.threadId!);
    switch (message.kind) {
      case 'start':
        clearTimeout(channel.startTimer);
        channel.unstartedSteers = undefined;
        events.start(taskId);
        if (waiting(channel)) this.#watch(channel);
        return;
      case 'chunks': {
        const chunks = freshChunks(channel, message.chunks);
        events.output(taskId, chunks, message.progress);
        if (message.checkpoint) {
          channel.latest = message.checkpoint;
          channel.steerSeq = message.checkpoint.steerSeq ?? 0;
          events.checkpoint(taskId, message.checkpoint);
        }
        // Taken in: the worker may post more (it waits on this slot when it is a window ahead).
        Atomics.add(channel.control, CONTROL.consumed, 1);
        Atomics.notify(channel.control, CONTROL.consumed);
        return;
      }
      case 'fatal':
        channel.fatal = message.message;
        return;
      case 'exiting':
        channel.exiting = message.how;
        return;
    }
  }

  /** Reports what the run's port already holds. */
  #drain(channel: Channel): void {
    for (let entry = receiveMessageOnPort(channel.port); entry; entry = receiveMessageOnPort(channel.port)) {
      this.#onMessage(channel, entry.message as WorkerMessage);
    }
  }

  #current(channel: Channel): boolean {
    return !channel.superseded && this.#channels.get(channel.taskId) === channel;
  }

  /** Forgets a channel: no more messages, timers or steering reach it. */
  #detach(channel: Channel): void {
    clearTimeout(channel.startTimer);
    clearTimeout(channel.watchdog);
    channel.port.removeAllListeners('message');
    channel.port.close();
    this.#tenancy.leave(channel, channel.threadId);
    if (this.#channels.get(channel.taskId) === channel) this.#channels.delete(channel.taskId);
  }

  /** Retires an attempt that another takes over: its port, bridge and Piscina settle are no longer the run's. */
  #supersede(channel: Channel, reason: string): void {
    this.#detach(channel);
    channel.superseded = true;
    channel.bridge?.close(reason);
    // If its thread lives on (a wedged start), the stale attempt must end at once when it finally starts.
    if (Atomics.load(channel.control, CONTROL.stop) === 0)
      Atomics.store(channel.control, CONTROL.stop, STOP_CANCEL);
  }

  /**
   * Piscina rejected the run: its thread died. The culprit (or a run alone on its thread, or one that was being
   * stopped anyway) ends `worker_crashed`; any other run moves to another thread.
   */
  #crashed(channel: Channel, error: unknown): void {
    if (!this.#current(channel)) return;
    const crash = () => endFromCrash(error, channel.fatal);
    const threadId = channel.threadId;
    if (threadId === undefined) {
      this.#settle(channel, crash);
      return;
    }
    // The runs' last messages ('fatal', 'exiting', checkpoints) say who ended the thread and where each stood.
    for (const tenant of this.#tenancy.tenants(threadId)) this.#drain(tenant);
    const death = this.#tenancy.death(threadId, error instanceof Error ? error.message : String(error));
    const blind = death.culprit === undefined;
    const fails =
      death.culprit === channel ||
      death.tenants <= 1 ||
      // Being stopped anyway: it ends in its stop status, where it is.
      Atomics.load(channel.control, CONTROL.stop) !== 0 ||
      (blind && channel.blindMoves >= MAX_BLIND_MOVES);
    if (fails) this.#settle(channel, crash);
    else this.#move(channel, death.why, blind);
  }

  /** Starts the run again on another thread from its latest checkpoint, saying so in its output. */
  #move(channel: Channel, why: string, blind: boolean): void {
    this.#supersede(channel, `task ${channel.taskId} moved to another thread`);
    const { latest } = channel;
    const run: TaskRun = { ...channel.run, steering: [] };
    if (latest) run.checkpoint = latest;
    else delete run.checkpoint;
    const from = (latest?.iterations ?? 0) + 1;
    this.#context.events.output(
      channel.taskId,
      [{ kind: 'log', text: `[moved to another thread: ${why}; resuming from iteration ${from}]` }],
      undefined,
    );
    const steering = channel.sent.filter((message) => message.seq > channel.steerSeq);
    this.#dispatch(run, steering, 1, {
      latest,
      steerSeq: channel.steerSeq,
      ackedSeq: channel.ackedSeq,
      blindMoves: channel.blindMoves + (blind ? 1 : 0),
    });
  }

  #settle(channel: Channel, end: () => TaskEnd): void {
    if (!this.#current(channel)) return;
    // A run's result can reach us before messages its worker posted just before returning: take them now, so
    // that every chunk the worker emitted is reported before the run settles.
    this.#drain(channel);
    this.#detach(channel);
    const settled = end();
    channel.bridge?.close(`task ${channel.taskId} ended ${settled.status}`);
    this.#context.events.settle(channel.taskId, settled);
  }
}
