import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import {
  CONTROL,
  STOP_CANCEL,
  STOP_TIMEOUT,
  type TaskPayload,
  type WorkerMessage,
} from '@errand/worker/protocol';
import type { Piscina } from 'piscina';
import type { Executor, ExecutorContext, SteerMessage, TaskRun } from '../../executor.js';
import type { TaskEnd } from '../../task-end.js';
import { type BridgeHandle, openBridge } from './host-bridge.js';
import { endFromCrash, endFromOutcome } from './outcome.js';
import { createPool } from './pool.js';

/** The thread-side handles of one submitted run; dropped when it settles. */
interface Channel {
  run: TaskRun;
  /** The host's end of the task port. */
  port: MessagePort;
  /** The control block (stop flag, steering counter), shared with the worker. */
  control: Int32Array;
  /** Aborts the Piscina task: drops it from Piscina's queue, or terminates its thread. */
  abort: AbortController;
  bridge: BridgeHandle | undefined;
  /** Steering posted before the worker started, replayed if the run moves to a fresh thread. */
  unstartedSteers: SteerMessage[] | undefined;
  /** Fires when no thread has started the run in time (a thread wedged by its previous task). */
  startTimer: NodeJS.Timeout | undefined;
  /** Hand-offs so far; the run fails after {@link MAX_HANDOFFS}. */
  handoffs: number;
  /** Set when the run moved to a fresh thread: this attempt's settle and free are not the run's. */
  superseded: boolean;
  /** Why the worker ended its own thread (e.g. out of memory outside the heap), for the crash message. */
  fatal: string | undefined;
}

/** Hand-offs to a thread before a run that never starts is given up. */
const MAX_HANDOFFS = 3;

/**
 * Runs tasks on worker threads of this process through Piscina: one agent loop per thread, a MessagePort per
 * run for output and steering, a `SharedArrayBuffer` control block that a busy loop reads with one
 * `Atomics.load`, and a Comlink bridge for host tools, host models and nested delegation.
 */
export class PiscinaExecutor implements Executor {
  readonly #context: ExecutorContext;
  readonly #pool: Piscina;
  readonly #channels = new Map<string, Channel>();
  /** Runs handed to Piscina whose promise has not settled: at most `maxThreads`. */
  #inPool = 0;
  /** Who waits for `#inPool` to reach 0 (only `close`). */
  readonly #idle: Array<() => void> = [];

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#pool = createPool(context.options);
    // Without a listener an 'error' event would crash the host; a worker that fails outside a task is news,
    // not a reason to die.
    this.#pool.on('error', (error: Error) => context.events.error(error));
  }

  get capacity(): number {
    return this.#context.options.pool.maxThreads - this.#inPool;
  }

  submit(run: TaskRun): void {
    this.#inPool += 1;
    this.#dispatch(run, run.steering, 1);
  }

  /**
   * Hands a run to Piscina on a fresh port and control block. A thread that does not start it within
   * `pool.startTimeoutMs` is taken to be wedged (a timer its previous task left spinning keeps its event loop
   * busy, so it never reads the run): the attempt is aborted, which terminates that thread, and the run moves
   * to a fresh one with its steering replayed. The slot stays the run's throughout.
   */
  #dispatch(run: TaskRun, steering: readonly SteerMessage[], handoffs: number): void {
    const { options, events } = this.#context;
    const { pool, limits } = options;
    const { port1, port2 } = new MessageChannel();
    const buffer = new SharedArrayBuffer(CONTROL.length * Int32Array.BYTES_PER_ELEMENT);
    const channel: Channel = {
      run,
      port: port1,
      control: new Int32Array(buffer),
      abort: new AbortController(),
      bridge: openBridge(run, options, this.#context.delegation),
      unstartedSteers: [],
      startTimer: undefined,
      handoffs,
      superseded: false,
      fatal: undefined,
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
    if (goal.context !== undefined) payload.context = goal.context;
    if (run.checkpoint) payload.resume = run.checkpoint;
    const transferList: MessagePort[] = [port2];
    if (channel.bridge) {
      payload.bridge = channel.bridge.spec;
      transferList.push(channel.bridge.spec.port);
    }
    this.#pool
      .run(payload, { transferList, signal: channel.abort.signal })
      .then(
        (outcome: unknown) => this.#settle(channel, () => endFromOutcome(outcome)),
        (error: unknown) => this.#settle(channel, () => endFromCrash(error, channel.fatal)),
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
    if (this.#channels.get(channel.run.taskId) !== channel || channel.unstartedSteers === undefined) return;
    const steering = channel.unstartedSteers;
    this.#detach(channel);
    channel.superseded = true;
    channel.bridge?.close(`task ${channel.run.taskId} moved to a fresh thread`);
    channel.abort.abort();
    const { startTimeoutMs } = this.#context.options.pool;
    if (channel.handoffs >= MAX_HANDOFFS) {
      // The slot is released by this attempt's own settle, as for any run.
      channel.superseded = false;
      this.#context.events.settle(channel.run.taskId, {
        status: 'failed',
        exitReason: 'crashed',
        error: {
          code: 'worker_crashed',
          message: `no worker thread started the task within ${startTimeoutMs} ms, ${MAX_HANDOFFS} times (pool.startTimeoutMs)`,
        },
      });
      return;
    }
    this.#dispatch(channel.run, steering, channel.handoffs + 1);
  }

  steer(taskId: string, message: SteerMessage): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
    channel.unstartedSteers?.push(message);
    channel.port.postMessage({ kind: 'steer', seq: message.seq, text: message.text });
    Atomics.add(channel.control, CONTROL.steerCount, 1);
  }

  stop(taskId: string, reason: 'cancel' | 'timeout'): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
    Atomics.store(channel.control, CONTROL.stop, reason === 'timeout' ? STOP_TIMEOUT : STOP_CANCEL);
    channel.port.postMessage({ kind: 'cancel' });
  }

  kill(taskId: string, reason: string): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
    // Host calls in flight for the task are rejected now: Comlink never settles a call whose worker died.
    channel.bridge?.close(reason);
    // Whatever the worker posted before it is terminated is read now (a worker stuck in a loop can still have
    // flushed its last lines), so the output tail shows what it did last.
    this.#drain(channel);
    channel.abort.abort();
  }

  async close(): Promise<void> {
    // A run can be killed before Piscina has settled it and replaced the thread; destroying the pool in
    // between would race that replacement.
    while (this.#inPool > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#pool.destroy();
  }

  #onMessage(channel: Channel, message: WorkerMessage): void {
    const { events } = this.#context;
    const taskId = channel.run.taskId;
    switch (message.kind) {
      case 'start':
        clearTimeout(channel.startTimer);
        channel.unstartedSteers = undefined;
        events.start(taskId);
        return;
      case 'chunks':
        events.output(taskId, message.chunks, message.progress);
        if (message.checkpoint) events.checkpoint(taskId, message.checkpoint);
        // Taken in: the worker may post more (it waits on this slot when it is a window ahead).
        Atomics.add(channel.control, CONTROL.consumed, 1);
        Atomics.notify(channel.control, CONTROL.consumed);
        return;
      case 'fatal':
        channel.fatal = message.message;
        return;
    }
  }

  /** Reports what the run's port already holds. */
  #drain(channel: Channel): void {
    for (let entry = receiveMessageOnPort(channel.port); entry; entry = receiveMessageOnPort(channel.port)) {
      this.#onMessage(channel, entry.message as WorkerMessage);
    }
  }

  /** Forgets a channel: no more messages, timers or steering reach it. */
  #detach(channel: Channel): void {
    clearTimeout(channel.startTimer);
    channel.port.removeAllListeners('message');
    channel.port.close();
    if (this.#channels.get(channel.run.taskId) === channel) this.#channels.delete(channel.run.taskId);
  }

  #settle(channel: Channel, end: () => TaskEnd): void {
    if (channel.superseded || this.#channels.get(channel.run.taskId) !== channel) return;
    // A run's result can reach us before messages its worker posted just before returning: take them now, so
    // that every chunk the worker emitted is reported before the run settles.
    this.#drain(channel);
    this.#detach(channel);
    const settled = end();
    channel.bridge?.close(`task ${channel.run.taskId} ended ${settled.status}`);
    this.#context.events.settle(channel.run.taskId, settled);
  }
}
