import { randomUUID } from 'node:crypto';
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import {
  CONTROL,
  type Redactor,
  STOP_CANCEL,
  STOP_TIMEOUT,
  type TaskPayload,
  type WorkerMessage,
} from '@errand/worker';
import type { Piscina } from 'piscina';
import { CompletionFeed } from './completion-feed.js';
import { validateGoal } from './delegate-input.js';
import { delegationHostFor } from './delegation-host.js';
import type { DelegationHost } from './delegation-ops.js';
import { InvalidInputError, LimitExceededError, ShuttingDownError, TaskFinishedError } from './errors.js';
import { FairQueue } from './fair-queue.js';
import { openBridge } from './host-bridge.js';
import type { ResolvedOptions } from './options.js';
import { createPool } from './pool.js';
import { assertQueueRoom } from './queue-admission.js';
import { hostRedactor, redactError } from './redactor.js';
import { Task, type TaskChannel, type TaskEnd } from './task.js';
import { endFromCrash, endFromOutcome, redactEnd } from './task-end.js';
import { TaskRegistry } from './task-registry.js';
import type { DelegateInput, SteerReceipt, SupervisorEvents } from './types.js';

type Emit = <E extends keyof SupervisorEvents>(event: E, ...args: SupervisorEvents[E]) => void;

/**
 * The engine behind `Supervisor` and `Session`: dispatch, the worker port, stop (cancel and timeout) and
 * settling. Everything here runs on the host's main thread, so every path is O(1) bookkeeping.
 */
export class Engine {
  readonly options: ResolvedOptions;
  readonly registry: TaskRegistry;
  readonly completions = new CompletionFeed();
  /** Hides secrets in everything the engine keeps as text or emits (see `redactor.ts`). */
  readonly redactor: Redactor;
  readonly #pool: Piscina;
  readonly #emit: Emit;
  /** Tasks not yet handed to Piscina, served round-robin by session. */
  readonly #waiting = new FairQueue<Task>((task) => task.sessionId);
  /** Tasks handed to Piscina whose run has not settled: at most `maxThreads`. */
  #inPool = 0;
  /** The delegation operations as orchestrator agents see them: the same engine, one level deeper. */
  readonly #delegationHost: DelegationHost = delegationHostFor(this);
  /** Who waits for `#inPool` to reach 0 (only `close`). */
  readonly #idle: Array<() => void> = [];
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedOptions, emit: Emit) {
    this.options = options;
    this.registry = new TaskRegistry(options.limits.retainFinished);
    this.#emit = emit;
    this.redactor = hostRedactor(options);
    this.#pool = createPool(options);
    // Without a listener an 'error' event would crash the host; a worker that fails outside a task is news,
    // not a reason to die.
    this.#pool.on('error', (error: Error) => emit('worker-error', redactError(error, this.redactor)));
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Registers and dispatches a goal. Returns its id synchronously; never waits on the pool. `parent` is the
   * orchestrator task delegating it, if any: the child runs one level deeper, within `limits.maxDepth`.
   */
  delegate(sessionId: string, input: DelegateInput, parent?: Task): string {
    if (this.#closing) throw new ShuttingDownError();
    const goal = validateGoal(input, this.options);
    const { limits } = this.options;
    const depth = parent ? parent.depth + 1 : 0;
    if (depth > limits.maxDepth) {
      throw new LimitExceededError(
        'maxDepth',
        limits.maxDepth,
        `delegation may nest ${limits.maxDepth} level(s) deep; this would be ${depth}`,
      );
    }
    if (goal.role === 'orchestrator' && depth >= limits.maxDepth) {
      throw new InvalidInputError(
        'role',
        `a task at depth ${depth} cannot be an orchestrator (limits.maxDepth = ${limits.maxDepth})`,
      );
    }
    const unfinished = this.registry.unfinished(sessionId);
    if (unfinished >= limits.maxTasksPerSession) {
      throw new LimitExceededError(
        'maxTasksPerSession',
        limits.maxTasksPerSession,
        `session already has ${unfinished} unfinished tasks (limit maxTasksPerSession = ${limits.maxTasksPerSession}); collect or cancel some first`,
      );
    }
    assertQueueRoom(this.registry.queued, this.#waiting, sessionId, limits.maxQueued);
    const task = new Task(
      randomUUID(),
      sessionId,
      goal,
      limits.outputLines,
      limits.outputLineChars,
      this.redactor,
    );
    if (parent) {
      task.depth = depth;
      task.parent = parent;
      parent.children.add(task);
    }
    this.registry.add(task);
    this.registry.queued += 1;
    this.#enqueue(task);
    return task.id;
  }

  steer(sessionId: string, id: string, text: unknown): SteerReceipt {
    const task = this.registry.get(sessionId, id);
    const { maxSteerChars, maxPendingSteers } = this.options.limits;
    if (typeof text !== 'string' || text.trim() === '')
      throw new InvalidInputError('message', 'must be a non-blank string');
    if (text.length > maxSteerChars) {
      throw new InvalidInputError('message', `is ${text.length} characters; the limit is ${maxSteerChars}`);
    }
    if (task.terminal || task.state.stopping)
      throw new TaskFinishedError(task.id, task.state.stopping ?? task.status);
    if (task.steering.sent - task.steering.delivered >= maxPendingSteers) {
      throw new LimitExceededError(
        'maxPendingSteers',
        maxPendingSteers,
        `${maxPendingSteers} steering messages are still waiting for the sub-agent's next step (limit maxPendingSteers = ${maxPendingSteers})`,
      );
    }
    const seq = ++task.steering.sent;
    const channel = task.channel!;
    channel.port.postMessage({ kind: 'steer', seq, text });
    Atomics.add(channel.control, CONTROL.steerCount, 1);
    return { taskId: task.id, seq, status: 'queued' };
  }

  /**
   * Asks a task to stop. A queued task is dropped from the pool's queue without touching a worker. A running
   * one is asked cooperatively (shared flag, port message, worker-side AbortSignal), and its worker is
   * terminated if it has not stopped after `graceMs`. Either way it ends in its stop status.
   */
  stop(
    task: Task,
    reason: 'cancel' | 'timeout',
    message: string,
    graceMs = this.options.limits.cancelGraceMs,
  ): void {
    if (task.terminal || task.state.stopping) return;
    task.stopMessage = message;
    task.apply({ type: 'stop-request', reason });
    const channel = task.channel!;
    if (task.status === 'queued') {
      // Still in our line: it never touches a worker. Already handed to Piscina but not started: Piscina
      // drops it from its queue, or terminates the thread if it had just begun.
      if (!this.#waiting.remove(task)) channel.abort.abort();
      this.#finish(task, { status: 'cancelled', exitReason: 'cancelled' });
      this.#stopChildren(task, graceMs);
      return;
    }
    Atomics.store(channel.control, CONTROL.stop, reason === 'timeout' ? STOP_TIMEOUT : STOP_CANCEL);
    channel.port.postMessage({ kind: 'cancel' });
    task.graceTimer = setTimeout(() => channel.abort.abort(), graceMs);
    this.#stopChildren(task, graceMs);
  }

  /** A stopped orchestrator takes the sub-agents it delegated with it. */
  #stopChildren(task: Task, graceMs: number): void {
    for (const child of task.children)
      this.stop(child, 'cancel', `parent task ${task.id} was stopped`, graceMs);
  }

  /** Cancels everything, waits for every task to end, then ends the pool. Idempotent. */
  close(graceMs = this.options.limits.cancelGraceMs): Promise<void> {
    this.#closing ??= (async () => {
      const live = [...this.registry.all()].filter((task) => !task.terminal);
      for (const task of live) this.stop(task, 'cancel', 'the supervisor is closing', graceMs);
      await Promise.all(live.map((task) => task.ended()));
      // A task can end (a hard stop) before Piscina has settled its run and replaced the thread; destroying
      // the pool in between would race that replacement.
      while (this.#inPool > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      this.completions.end();
      await this.#pool.destroy();
    })();
    return this.#closing;
  }

  /**
   * Gives the task its channel at once (so steering can be queued before it starts) and puts it in line.
   * The port a worker will use travels with the task when it is submitted.
   */
  #enqueue(task: Task): void {
    const { port1, port2 } = new MessageChannel();
    const buffer = new SharedArrayBuffer(CONTROL.length * Int32Array.BYTES_PER_ELEMENT);
    task.channel = {
      port: port1,
      workerPort: port2,
      buffer,
      control: new Int32Array(buffer),
      abort: new AbortController(),
    };
    port1.on('message', (message: WorkerMessage) => this.#onMessage(task, message));
    this.#waiting.push(task);
    this.#pump();
  }

  /**
   * Hands waiting tasks to Piscina while it has a free thread. Piscina never holds more than `maxThreads`
   * of our tasks, so the order in which work starts is decided here, round-robin across sessions.
   */
  #pump(): void {
    while (this.#inPool < this.options.pool.maxThreads && this.#waiting.size > 0) {
      const task = this.#waiting.shift()!;
      if (!task.terminal && task.channel) this.#submit(task, task.channel);
    }
  }

  #submit(task: Task, channel: TaskChannel): void {
    const { pool, limits } = this.options;
    const payload: TaskPayload = {
      taskId: task.id,
      sessionId: task.sessionId,
      goal: task.goal.goal,
      toolsets: task.goal.toolsets,
      model: task.goal.model,
      maxIterations: task.goal.maxIterations,
      port: channel.workerPort,
      control: channel.buffer,
      batchSize: pool.outputBatchSize,
      flushMs: pool.outputFlushMs,
      maxToolResultChars: limits.maxToolResultChars,
    };
    if (task.goal.context !== undefined) payload.context = task.goal.context;
    const transferList: MessagePort[] = [channel.workerPort];
    const bridge = openBridge(task, this.options, this.#delegationHost);
    if (bridge) {
      payload.bridge = bridge.spec;
      transferList.push(bridge.spec.port);
      task.bridge = bridge;
    }
    task.submitted = true;
    this.#inPool += 1;
    this.#pool
      .run(payload, { transferList, signal: channel.abort.signal })
      .then(
        (outcome: unknown) => this.#settle(task, outcome, undefined),
        (error: unknown) => this.#settle(task, undefined, error),
      )
      .finally(() => {
        // The thread is free only once Piscina settles, even if the task was finished earlier (a hard stop).
        this.#inPool -= 1;
        this.#pump();
        if (this.#inPool === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
  }

  #onMessage(task: Task, message: WorkerMessage): void {
    if (task.terminal) return;
    switch (message.kind) {
      case 'start': {
        if (task.status !== 'queued') return;
        this.registry.queued -= 1;
        task.startedAt = Date.now();
        this.#transition(task, { type: 'start' });
        this.#emit('task-start', task.snapshot(0));
        const { timeoutMs } = task.goal;
        task.timeoutTimer = setTimeout(
          () => this.stop(task, 'timeout', `task ran past its timeout of ${timeoutMs} ms`),
          timeoutMs,
        );
        return;
      }
      case 'chunks': {
        const before = task.output.lineCount;
        const acks = task.append(message.chunks);
        if (message.chunks.length > 0) {
          this.#emit('task-output', {
            taskId: task.id,
            sessionId: task.sessionId,
            lines: task.output.lineCount - before,
          });
        }
        const { progress } = message;
        if (progress) {
          task.iterations = progress.iterations;
          if (progress.lastText !== undefined) task.lastText = this.redactor.redact(progress.lastText);
          if (progress.usage) task.usage = progress.usage;
        }
        for (const seq of acks)
          this.#emit('steer-delivered', { taskId: task.id, sessionId: task.sessionId, seq });
        return;
      }
    }
  }

  #settle(task: Task, outcome: unknown, error: unknown): void {
    if (task.terminal) return;
    // A task's result can reach us before messages its worker posted just before returning: take them now so
    // that every chunk the worker emitted is in the buffer before the task turns terminal.
    const port = task.channel?.port;
    if (port) {
      for (let entry = receiveMessageOnPort(port); entry; entry = receiveMessageOnPort(port)) {
        this.#onMessage(task, entry.message as WorkerMessage);
      }
    }
    this.#finish(task, outcome !== undefined ? endFromOutcome(outcome) : endFromCrash(error));
  }

  #finish(task: Task, end: TaskEnd): void {
    if (task.terminal) return;
    if (task.status === 'queued') this.registry.queued -= 1;
    task.output.end();
    const stopping = task.state.stopping;
    if (stopping) {
      const timedOut = stopping === 'timed_out';
      task.exitReason = timedOut ? 'timeout' : 'cancelled';
      task.error = { code: timedOut ? 'timeout' : 'cancelled', message: task.stopMessage ?? 'stopped' };
      task.result = end.result ?? task.lastText;
    } else {
      task.exitReason = end.exitReason;
      task.error = end.error;
      // A crashed worker returns nothing: its last reported text is the partial result.
      task.result = end.result ?? task.lastText;
    }
    redactEnd(task, this.redactor);
    if (end.iterations !== undefined) task.iterations = Math.max(task.iterations, end.iterations);
    if (end.usage) task.usage = end.usage;
    task.endedAt = Date.now();
    clearTimeout(task.timeoutTimer);
    clearTimeout(task.graceTimer);
    task.timeoutTimer = task.graceTimer = undefined;
    task.channel?.port.close();
    task.channel = undefined;
    task.bridge?.close(`task ${task.id} ended ${task.state.stopping ?? end.status}`);
    task.bridge = undefined;
    this.#transition(task, { type: 'finish', status: end.status });
    this.registry.finished(task);
    const snapshot = task.snapshot(this.options.limits.outputLines);
    this.#emit('task-end', snapshot);
    this.completions.push(snapshot);
  }

  #transition(task: Task, event: Parameters<Task['apply']>[0]): void {
    const from = task.apply(event);
    if (from !== task.status) {
      const change = { taskId: task.id, sessionId: task.sessionId, from, to: task.status, at: Date.now() };
      // `task:status` is the design's name for it; `task-status` matches the other events' spelling.
      this.#emit('task:status', change);
      this.#emit('task-status', change);
    }
  }
}
