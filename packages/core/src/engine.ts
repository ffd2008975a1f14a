import { randomUUID } from 'node:crypto';
import type { Redactor } from '@errand/worker';
import type { OutputChunk, Progress } from '@errand/worker/protocol';
import { assertAdmission, interruptedPatch } from './admission.js';
import { CompletionFeed } from './completion-feed.js';
import { type ValidGoal, validateGoal } from './delegate-input.js';
import { delegationHostFor } from './delegation-host.js';
import {
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  ShuttingDownError,
  TaskFinishedError,
  UnavailableError,
} from './errors.js';
import type { Executor, ExecutorEvents, ExecutorFactory, TaskRun } from './executor.js';
import { PiscinaExecutor } from './executors/piscina/piscina-executor.js';
import { FairQueue } from './fair-queue.js';
import type { ResolvedOptions } from './options.js';
import { assertQueueRoom } from './queue-admission.js';
import { hostRedactor, redactError } from './redactor.js';
import { RemoteTasks } from './remote-tasks.js';
import { type ResumeInput, resumedGoal } from './resume-input.js';
import { snapshotOf } from './snapshot.js';
import { MemoryStore } from './stores/memory-store.js';
import { Task } from './task.js';
import type { TaskEnd } from './task-end.js';
import type { TaskEvent } from './task-state.js';
import type { Checkpoint, TaskRecord, TaskRecordPatch, TaskStore } from './task-store.js';
import { TaskTracing } from './telemetry/task-tracing.js';
import { capText, MAX_ERROR_CHARS } from './text-cap.js';
import type { DelegateInput, SteerReceipt, SupervisorEvents, TaskSnapshot } from './types.js';

/** How the engine emits a supervisor event. */
export type Emit = <E extends keyof SupervisorEvents>(event: E, ...args: SupervisorEvents[E]) => void;

/** Where the engine runs tasks and keeps records; both default to this process (Piscina, memory). */
export interface EngineParts {
  executor?: ExecutorFactory;
  store?: TaskStore;
}

/** A task as a caller finds it: its record, and its live state while it is unfinished. */
export interface TaskView {
  record: TaskRecord;
  live: Task | undefined;
}

/**
 * A task's life on the host's main thread: admission and limits, the fair queue, the state machine, timeout
 * and grace timers, events and completion notices. Where a task runs is the executor's business and where its
 * record lives is the store's; the engine names neither. Every path is O(1) bookkeeping.
 */
export class Engine {
  readonly options: ResolvedOptions;
  readonly completions = new CompletionFeed();
  /** Tasks another supervisor runs, seen through a shared store (bullmq): waits, cancel, follow, events. */
  readonly remote: RemoteTasks;
  /** Hides secrets in everything the engine keeps as text or emits (see `redactor.ts`). */
  readonly redactor: Redactor;
  readonly #store: TaskStore;
  readonly #executor: Executor;
  readonly #emit: Emit;
  /** Unfinished tasks, by id. A finished task lives on only as its record in the store. */
  readonly #live = new Map<string, Task>();
  /** Unfinished tasks per session, for `maxTasksPerSession`. */
  readonly #unfinished = new Map<string, number>();
  /** Tasks not yet started (waiting in line or handed to the executor), for `maxQueued`. */
  #queued = 0;
  /** Tasks not yet handed to the executor, served round-robin by session. */
  readonly #waiting = new FairQueue<Task>((task) => task.sessionId);
  #pumpScheduled = false;
  #closing: Promise<void> | undefined;
  /** Set when the executor reported its backend unreachable: every later `delegate` throws it. */
  #unavailable: Error | undefined;
  /** OpenTelemetry spans per task; undefined when `@opentelemetry/api` is not installed. */
  readonly #tracing: TaskTracing | undefined;

  constructor(options: ResolvedOptions, emit: Emit, parts: EngineParts = {}) {
    this.options = options;
    this.#emit = emit;
    this.redactor = hostRedactor(options);
    this.#tracing = TaskTracing.open(this.redactor);
    this.#store = parts.store ?? new MemoryStore(options.limits.retainFinished);
    const events: ExecutorEvents = {
      start: (taskId) => this.#onStart(taskId),
      output: (taskId, chunks, progress) => this.#onOutput(taskId, chunks, progress),
      settle: (taskId, end) => {
        const task = this.#live.get(taskId);
        if (task) this.#finish(task, end);
      },
      checkpoint: (taskId, checkpoint) => {
        const task = this.#live.get(taskId);
        if (!task || task.terminal) return;
        task.checkpoint = checkpoint;
        this.#store.saveCheckpoint(taskId, checkpoint);
      },
      free: () => this.#pump(),
      error: (error) => emit('worker-error', redactError(error, this.redactor)),
      unavailable: (error) => this.#onUnavailable(error),
    };
    this.#interruptLeftovers();
    this.remote = new RemoteTasks({
      store: this.#store,
      executor: () => this.#executor,
      options,
      redactor: this.redactor,
      emit,
      completions: this.completions,
      isLive: (id) => this.#live.has(id),
    });
    this.#store.watch?.((change) => this.remote.onChange(change));
    const create = parts.executor ?? ((context) => new PiscinaExecutor(context));
    this.#executor = create({ options, events, delegation: delegationHostFor(this) });
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Admits a goal and puts it in line. Returns its id synchronously: the hand-off to the executor happens
   * after this call returns (batched per tick), so a burst of delegations never waits for a thread to start.
   * `parentId` is the orchestrator task delegating it, if any: the child runs one level deeper.
   */
  delegate(sessionId: string, input: DelegateInput, parentId?: string): string {
    if (this.#closing) throw new ShuttingDownError();
    if (this.#unavailable) throw this.#unavailable;
    return this.#admit(sessionId, validateGoal(input, this.options), parentId);
  }

  /**
   * Starts a new task from a finished one's last checkpoint: the agent sees its earlier conversation and a note
   * that it was resumed, and its iterations go on from there (`maxIterations` counts them all). The old record
   * stays as it ended. Returns the new id synchronously.
   */
  resume(sessionId: string, id: string, options: ResumeInput = {}): string {
    if (this.#closing) throw new ShuttingDownError();
    if (this.#unavailable) throw this.#unavailable;
    const { record, live } = this.view(sessionId, id);
    const checkpoint = this.#store.checkpoint(record.id);
    const goal = resumedGoal(record, live !== undefined, checkpoint, options, this.options.limits);
    return this.#admit(
      sessionId,
      goal,
      record.parentId !== undefined && this.#live.has(record.parentId) ? record.parentId : undefined,
      // resumedGoal has refused a task without a checkpoint.
      { resumedFrom: record.id, checkpoint: checkpoint! },
    );
  }

  #admit(
    sessionId: string,
    goal: ValidGoal,
    parentId: string | undefined,
    from?: { resumedFrom: string; checkpoint: Checkpoint },
  ): string {
    const { limits } = this.options;
    let depth = 0;
    let parent: Task | undefined;
    if (parentId !== undefined) {
      parent = this.#live.get(parentId);
      // A parent that is stopping or gone must not leave a child behind: its stop has already run.
      if (!parent || parent.terminal || parent.state.stopping) {
        throw new TaskFinishedError(
          parentId,
          parent?.state.stopping ?? this.#store.get(parentId)?.status ?? 'gone',
        );
      }
      depth = parent.record.depth + 1;
    }
    const unfinished = this.#unfinished.get(sessionId) ?? 0;
    // A shared store (Redis) counts every supervisor's tasks; the executor enforces the same limits atomically
    // when it enqueues, this check only refuses early what its view already sees.
    const shared = this.#store.counts?.(sessionId);
    assertAdmission(limits, {
      depth,
      role: goal.role,
      unfinished: Math.max(unfinished, shared?.unfinished ?? 0),
    });
    assertQueueRoom(Math.max(this.#queued, shared?.queued ?? 0), this.#waiting, sessionId, limits.maxQueued);
    const record: TaskRecord = {
      id: randomUUID(),
      sessionId,
      status: 'queued',
      goal,
      depth,
      createdAt: Date.now(),
      iterations: 0,
      steering: { sent: 0, delivered: 0 },
      outputLines: 0,
      droppedLines: 0,
      transitions: [{ status: 'queued', at: Date.now() }],
    };
    if (parent) record.parentId = parent.id;
    if (from) {
      record.resumedFrom = from.resumedFrom;
      record.iterations = from.checkpoint.iterations;
    }
    const task = new Task(record, limits.outputLines, limits.outputLineChars, this.redactor);
    if (from) task.checkpoint = from.checkpoint;
    this.#store.create(record);
    this.#tracing?.admitted(record);
    this.#live.set(record.id, task);
    this.#unfinished.set(sessionId, unfinished + 1);
    this.#queued += 1;
    parent?.children.add(record.id);
    this.#waiting.push(task);
    this.#schedulePump();
    return record.id;
  }

  /** The task, if it exists and belongs to `sessionId`; otherwise the same `NotFoundError` either way. */
  view(sessionId: string, id: unknown): TaskView {
    const record = typeof id === 'string' ? this.#store.get(id) : undefined;
    if (!record || record.sessionId !== sessionId) throw new NotFoundError(String(id));
    return { record, live: this.#live.get(record.id) };
  }

  /** The session of a task the engine knows (an orchestrator calling back through its bridge). */
  sessionOf(taskId: string): string {
    const record = this.#store.get(taskId);
    if (!record) throw new NotFoundError(taskId);
    return record.sessionId;
  }

  /** The retained tasks an orchestrator delegated, oldest first. */
  children(parentId: string): TaskView[] {
    const views: TaskView[] = [];
    for (const view of this.list(this.sessionOf(parentId))) {
      if (view.record.parentId === parentId) views.push(view);
    }
    return views;
  }

  /** One session's tasks, oldest first. */
  *list(sessionId: string): Generator<TaskView> {
    for (const record of this.#store.ofSession(sessionId)) yield { record, live: this.#live.get(record.id) };
  }

  steer(sessionId: string, id: string, text: unknown): SteerReceipt {
    const { record, live } = this.view(sessionId, id);
    const { maxSteerChars, maxPendingSteers } = this.options.limits;
    if (typeof text !== 'string' || text.trim() === '')
      throw new InvalidInputError('message', text, 'must be a non-blank string');
    if (text.length > maxSteerChars) {
      throw new InvalidInputError(
        'message',
        `${text.length} characters`,
        `is ${text.length} characters; the limit is ${maxSteerChars}`,
      );
    }
    const remote = this.remote.isRemote({ record, live });
    if (!remote && (!live || live.terminal || live.state.stopping))
      throw new TaskFinishedError(record.id, live?.state.stopping ?? record.status);
    const { steering } = record;
    if (steering.sent - steering.delivered >= maxPendingSteers) {
      throw new LimitExceededError(
        'maxPendingSteers',
        maxPendingSteers,
        `${maxPendingSteers} steering messages are still waiting for the sub-agent's next step (limit maxPendingSteers = ${maxPendingSteers})`,
      );
    }
    const message = { seq: steering.sent + 1, text };
    if (!live) {
      // Another supervisor's task: the record is the shared view's copy, the run is reached by id.
      const patch = { steering: { sent: message.seq, delivered: steering.delivered } };
      Object.assign(record, patch);
      this.#store.update(record.id, patch);
      this.#executor.steer(record.id, message);
      return { taskId: record.id, seq: message.seq, status: 'queued' };
    }
    this.#write(live, { steering: { sent: message.seq, delivered: steering.delivered } });
    this.#tracing?.event(record.id, 'steer', { 'errand.steer.seq': message.seq });
    if (live.submitted) this.#executor.steer(record.id, message);
    else live.pendingSteers.push(message);
    return { taskId: record.id, seq: message.seq, status: 'queued' };
  }

  /**
   * Asks a task to stop. A task still in line is dropped without touching the executor; one handed to the
   * executor but not started is killed at once. A running one is asked cooperatively and killed if it has
   * not stopped after `graceMs`. Either way it ends in its stop status, and its children are stopped too.
   */
  stop(
    task: Task,
    reason: 'cancel' | 'timeout',
    message: string,
    graceMs = this.options.limits.cancelGraceMs,
  ): void {
    if (task.terminal || task.state.stopping) return;
    task.stopMessage = message;
    this.#tracing?.event(task.id, reason, { 'errand.stop.reason': message });
    task.apply({ type: 'stop-request', reason });
    if (task.state.status === 'queued') {
      if (!this.#waiting.remove(task)) this.#executor.kill(task.id, `task ${task.id} ended cancelled`);
      this.#finish(task, { status: 'cancelled', exitReason: 'cancelled' });
    } else {
      this.#executor.stop(task.id, reason);
      const ending = `task ${task.id} ended ${task.state.stopping}`;
      task.graceTimer = setTimeout(() => this.#executor.kill(task.id, ending), graceMs);
    }
    for (const child of task.children) {
      const live = this.#live.get(child);
      if (live) this.stop(live, 'cancel', `parent task ${task.id} was stopped`, graceMs);
    }
  }

  /**
   * Cancels everything, waits for every task to end, then closes the executor and the store. Idempotent. With a
   * shared executor (bullmq) tasks belong to the cluster, not to this supervisor: they keep running on the
   * workers, and close only lets go of them and disconnects.
   */
  close(graceMs = this.options.limits.cancelGraceMs): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#executor.shared) {
        // Whatever waits in line goes to the shared queue first: its record is already in the shared store.
        await this.#executor.ready;
        this.#pump();
        for (const task of this.#live.values()) {
          clearTimeout(task.timeoutTimer);
          clearTimeout(task.graceTimer);
        }
        this.completions.end();
        await this.#executor.close();
        for (const task of this.#live.values()) task.release();
        this.#live.clear();
        await this.#store.close();
        return;
      }
      const live = [...this.#live.values()];
      for (const task of live) this.stop(task, 'cancel', 'the supervisor is closing', graceMs);
      await Promise.all(live.map((task) => task.ended()));
      this.completions.end();
      await this.#executor.close();
      await this.#store.close();
    })();
    return this.#closing;
  }

  /** A snapshot of a task, live or finished. */
  snapshot(view: TaskView, previewLines: number): TaskSnapshot {
    return snapshotOf(view.record, view.live, previewLines);
  }

  /**
   * Tasks a store holds as `queued` or `running` belong to a process that died: nothing runs them any more. They
   * end `interrupted`, keeping their last checkpoint, iterations and output tail, so `resume` can go on.
   */
  #interruptLeftovers(): void {
    const at = Date.now();
    for (const record of [...this.#store.unfinished()]) {
      const patch = interruptedPatch(record, at);
      Object.assign(record, patch);
      this.#store.update(record.id, patch);
      this.#store.finish(record.id);
    }
  }

  /** The executor cannot run anything: every unfinished task fails with why, and so does every later delegate. */
  #onUnavailable(error: Error): void {
    if (this.#unavailable) return;
    this.#unavailable = error;
    const code = UnavailableError.isInstance(error) ? error.code : 'unavailable';
    for (const task of [...this.#live.values()]) {
      this.#waiting.remove(task);
      this.#finish(task, {
        status: 'failed',
        exitReason: 'error',
        error: { code, message: error.message },
      });
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /**
   * Hands waiting tasks to the executor while it has room. The executor never holds more than its capacity
   * of our tasks, so the order in which work starts is decided here, round-robin across sessions.
   */
  #pump(): void {
    while (this.#executor.capacity > 0 && this.#waiting.size > 0) {
      const task = this.#waiting.shift()!;
      if (task.terminal) continue;
      task.submitted = true;
      const steering = task.pendingSteers;
      task.pendingSteers = [];
      const run: TaskRun = {
        taskId: task.id,
        sessionId: task.sessionId,
        goal: task.record.goal,
        depth: task.record.depth,
        steering,
      };
      if (task.checkpoint) run.checkpoint = task.checkpoint;
      this.#executor.submit(run);
    }
  }

  #onStart(taskId: string): void {
    const task = this.#live.get(taskId);
    if (!task || task.terminal || task.state.status !== 'queued') return;
    this.#queued -= 1;
    this.#write(task, { startedAt: Date.now() });
    this.#transition(task, { type: 'start' });
    this.#tracing?.event(taskId, 'task-start');
    this.#emit('task-start', snapshotOf(task.record, task, 0));
    const { timeoutMs } = task.record.goal;
    task.timeoutTimer = setTimeout(
      () => this.stop(task, 'timeout', `task ran past its timeout of ${timeoutMs} ms`),
      timeoutMs,
    );
  }

  #onOutput(taskId: string, chunks: readonly OutputChunk[], progress: Progress | undefined): void {
    const task = this.#live.get(taskId);
    if (!task || task.terminal) return;
    const before = task.output.lineCount;
    const acks = task.append(chunks);
    const patch: TaskRecordPatch = {};
    if (acks.length > 0) {
      const { steering } = task.record;
      patch.steering = { sent: steering.sent, delivered: steering.delivered + acks.length };
    }
    if (progress) {
      patch.iterations = progress.iterations;
      if (progress.lastText !== undefined)
        patch.lastText = capText(
          this.redactor.redact(progress.lastText),
          this.options.limits.maxResultChars,
          'limits.maxResultChars',
        );
      if (progress.usage) patch.usage = progress.usage;
    }
    // Most batches are output only: a store that saves whole records must not rewrite one per batch.
    if (acks.length > 0 || progress) this.#write(task, patch);
    if (progress?.spans) this.#tracing?.steps(taskId, progress.spans);
    if (chunks.length > 0) {
      this.#emit('task-output', {
        taskId,
        sessionId: task.sessionId,
        lines: task.output.lineCount - before,
      });
    }
    for (const seq of acks) {
      this.#tracing?.event(taskId, 'steer-delivered', { 'errand.steer.seq': seq });
      this.#emit('steer-delivered', { taskId, sessionId: task.sessionId, seq });
    }
  }

  #finish(task: Task, end: TaskEnd): void {
    if (task.terminal) return;
    if (task.state.status === 'queued') this.#queued -= 1;
    clearTimeout(task.timeoutTimer);
    clearTimeout(task.graceTimer);
    task.timeoutTimer = task.graceTimer = undefined;
    const { output, record } = task;
    output.end();
    const stopping = task.state.stopping;
    const patch: TaskRecordPatch = {
      endedAt: Date.now(),
      outputLines: output.lineCount,
      droppedLines: output.dropped,
      output: { firstIndex: output.firstIndex, lines: output.tail(output.capacity) },
    };
    // A crashed worker returns nothing: its last reported text is the partial result.
    const result = end.result ?? record.lastText;
    if (result !== undefined)
      patch.result = capText(
        this.redactor.redact(result),
        this.options.limits.maxResultChars,
        'limits.maxResultChars',
      );
    if (stopping) {
      const timedOut = stopping === 'timed_out';
      patch.exitReason = timedOut ? 'timeout' : 'cancelled';
      patch.error = { code: timedOut ? 'timeout' : 'cancelled', message: task.stopMessage ?? 'stopped' };
    } else {
      patch.exitReason = end.exitReason;
      if (end.error) {
        patch.error = {
          code: end.error.code,
          message: capText(
            this.redactor.redact(end.error.message),
            MAX_ERROR_CHARS,
            'longest error message kept',
          ),
        };
      }
    }
    if (end.iterations !== undefined) patch.iterations = Math.max(record.iterations, end.iterations);
    if (end.usage) patch.usage = end.usage;
    this.#write(task, patch);
    this.#live.delete(task.id);
    const left = (this.#unfinished.get(task.sessionId) ?? 1) - 1;
    if (left > 0) this.#unfinished.set(task.sessionId, left);
    else this.#unfinished.delete(task.sessionId);
    this.#transition(task, { type: 'finish', status: end.status });
    this.#tracing?.ended(record);
    this.#store.finish(task.id);
    const snapshot = snapshotOf(record, undefined, this.options.limits.outputLines);
    this.#emit('task-end', snapshot);
    this.completions.push(snapshot);
  }

  #transition(task: Task, event: TaskEvent): void {
    const from = task.apply(event);
    const to = task.state.status;
    if (from === to) return;
    const at = Date.now();
    this.#write(task, { status: to, transitions: [...task.record.transitions, { status: to, at }] });
    this.#emit('task-status', { taskId: task.id, sessionId: task.sessionId, from, to, at });
  }

  /** The one writer of task records: the live copy and the store see the same change. */
  #write(task: Task, patch: TaskRecordPatch): void {
    Object.assign(task.record, patch);
    this.#store.update(task.id, patch);
  }
}
