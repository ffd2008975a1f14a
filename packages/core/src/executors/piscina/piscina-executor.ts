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
import { type BridgeHandle, openBridge } from './host-bridge.js';
import { endFromCrash, endFromOutcome } from './outcome.js';
import { createPool } from './pool.js';

/** The thread-side handles of one submitted run; dropped when it settles. */
interface Channel {
  /** The host's end of the task port. */
  port: MessagePort;
  /** The control block (stop flag, steering counter), shared with the worker. */
  control: Int32Array;
  /** Aborts the Piscina task: drops it from Piscina's queue, or terminates its thread. */
  abort: AbortController;
  bridge: BridgeHandle | undefined;
}

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
    const { options, events } = this.#context;
    const { pool, limits } = options;
    const { port1, port2 } = new MessageChannel();
    const buffer = new SharedArrayBuffer(CONTROL.length * Int32Array.BYTES_PER_ELEMENT);
    const channel: Channel = {
      port: port1,
      control: new Int32Array(buffer),
      abort: new AbortController(),
      bridge: openBridge(run, options, this.#context.delegation),
    };
    this.#channels.set(run.taskId, channel);
    port1.on('message', (message: WorkerMessage) => this.#onMessage(run.taskId, message));
    // Steering sent before the run was submitted is queued on the port before the worker can read it.
    for (const message of run.steering) this.steer(run.taskId, message);
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
    };
    if (goal.context !== undefined) payload.context = goal.context;
    const transferList: MessagePort[] = [port2];
    if (channel.bridge) {
      payload.bridge = channel.bridge.spec;
      transferList.push(channel.bridge.spec.port);
    }
    this.#inPool += 1;
    this.#pool
      .run(payload, { transferList, signal: channel.abort.signal })
      .then(
        (outcome: unknown) => this.#settle(run.taskId, () => endFromOutcome(outcome)),
        (error: unknown) => this.#settle(run.taskId, () => endFromCrash(error)),
      )
      .finally(() => {
        // The thread is free only once Piscina settles, even if the task was finished earlier (a hard stop).
        this.#inPool -= 1;
        events.free();
        if (this.#inPool === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
  }

  steer(taskId: string, message: SteerMessage): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
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
    channel.abort.abort();
  }

  async close(): Promise<void> {
    // A run can be killed before Piscina has settled it and replaced the thread; destroying the pool in
    // between would race that replacement.
    while (this.#inPool > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#pool.destroy();
  }

  #onMessage(taskId: string, message: WorkerMessage): void {
    const { events } = this.#context;
    switch (message.kind) {
      case 'start':
        events.start(taskId);
        return;
      case 'chunks':
        events.output(taskId, message.chunks, message.progress);
        return;
    }
  }

  #settle(taskId: string, end: () => ReturnType<typeof endFromOutcome>): void {
    const channel = this.#channels.get(taskId);
    if (!channel) return;
    this.#channels.delete(taskId);
    // A run's result can reach us before messages its worker posted just before returning: take them now, so
    // that every chunk the worker emitted is reported before the run settles.
    for (let entry = receiveMessageOnPort(channel.port); entry; entry = receiveMessageOnPort(channel.port)) {
      this.#onMessage(taskId, entry.message as WorkerMessage);
    }
    channel.port.close();
    const settled = end();
    channel.bridge?.close(`task ${taskId} ended ${settled.status}`);
    this.#context.events.settle(taskId, settled);
  }
}
