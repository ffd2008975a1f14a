import {
  collectReply,
  type DelegationToolDefinition,
  NotFoundError,
  type Session,
  type TaskSnapshot,
} from '@errand/core';
import type {
  CreateTaskOptions,
  TaskStore,
} from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type Request,
  type RequestId,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';

/** Tasks per `tasks/list` page. */
const PAGE_SIZE = 100;

/** An errand status as MCP's five task statuses say it; the errand status itself leads `statusMessage`. */
function mcpStatus(status: TaskSnapshot['status']): Task['status'] {
  switch (status) {
    case 'queued':
    case 'running':
      return 'working';
    case 'completed':
      return 'completed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

/**
 * The SDK's `TaskStore` over one errand session: MCP tasks *are* the session's errand tasks, under the same
 * ids. `tasks/get`, `tasks/list` and `tasks/cancel` (the SDK's handlers) read and cancel them here; a
 * task-augmented `delegate_task_async` creates one through `createTask`. Errand keeps each task's record and
 * result itself, so nothing is stored twice, and finished tasks live as long as the supervisor retains them
 * (`retainFinished`), hence `ttl: null`.
 */
export class ErrandTaskStore implements TaskStore {
  readonly #session: Session;
  readonly #delegate: DelegationToolDefinition;
  readonly #pollInterval: number;
  /**
   * Ids of the tasks created here (task-augmented calls), whose status changes the server pushes. Filled before
   * `createTask` returns, so the task's first transition (its hand-off to a thread, a tick later) is not missed.
   */
  readonly created = new Set<string>();

  constructor(session: Session, delegate: DelegationToolDefinition, pollIntervalMs: number) {
    this.#session = session;
    this.#delegate = delegate;
    this.#pollInterval = pollIntervalMs;
  }

  /**
   * Runs `delegate_task_async` with the request's arguments. A call the tool refuses (bad arguments, a limit,
   * shutting down) creates no task: it is answered with an Invalid params error carrying the tool's reply.
   */
  async createTask(
    _params: CreateTaskOptions,
    _requestId: RequestId,
    request: Request,
    _sessionId?: string,
  ): Promise<Task> {
    const text = await this.#delegate.execute((request.params as { arguments?: unknown }).arguments ?? {});
    const reply = JSON.parse(text) as { task_id?: string; error?: { code: string; message: string } };
    if (reply.error || reply.task_id === undefined) {
      throw new McpError(ErrorCode.InvalidParams, reply.error?.message ?? 'no task was created', reply);
    }
    this.created.add(reply.task_id);
    return this.#task(this.#session.check(reply.task_id, { previewLines: 0 }));
  }

  async getTask(taskId: string): Promise<Task | null> {
    const snapshot = this.#find(taskId);
    return snapshot ? this.#task(snapshot) : null;
  }

  /** The tool result a finished task answers `tasks/result` with: the `collect_task` reply. */
  async getTaskResult(taskId: string): Promise<CallToolResult> {
    return resultOf(await this.#session.collect(taskId, { timeoutMs: 0 }));
  }

  /** Errand records every result itself; no handler of ours stores one. */
  async storeTaskResult(taskId: string): Promise<void> {
    throw new McpError(ErrorCode.InvalidRequest, `task ${taskId}: errand records task results itself`);
  }

  /** Only `cancelled` can be asked for (the SDK's `tasks/cancel`); resolves once the task has stopped. */
  async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string): Promise<void> {
    if (status !== 'cancelled') {
      throw new McpError(ErrorCode.InvalidRequest, `task ${taskId}: only errand changes a task's status`);
    }
    await this.#session.cancel(taskId, statusMessage === undefined ? {} : { reason: statusMessage });
  }

  async listTasks(cursor?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const start = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(start) || start < 0)
      throw new Error(`invalid cursor ${JSON.stringify(cursor)}`);
    const all = this.#session.list();
    const tasks: Task[] = [];
    for (const summary of all.slice(start, start + PAGE_SIZE)) {
      const snapshot = this.#find(summary.id);
      if (snapshot) tasks.push(this.#task(snapshot));
    }
    const next = start + PAGE_SIZE;
    return next < all.length ? { tasks, nextCursor: String(next) } : { tasks };
  }

  /** The MCP view of an errand task. */
  #task(snapshot: TaskSnapshot): Task {
    return taskOf(snapshot, this.#pollInterval);
  }

  #find(taskId: string): TaskSnapshot | undefined {
    try {
      return this.#session.check(taskId, { previewLines: 0 });
    } catch (error) {
      if (NotFoundError.isInstance(error)) return undefined;
      throw error;
    }
  }
}

/** An errand snapshot as an MCP `Task`. */
export function taskOf(snapshot: TaskSnapshot, pollInterval: number): Task {
  const status = mcpStatus(snapshot.status);
  const updated = snapshot.endedAt ?? snapshot.startedAt ?? snapshot.createdAt;
  const detail =
    snapshot.error?.message ?? `${snapshot.iterations} iterations, ${snapshot.outputLines} output lines`;
  return {
    taskId: snapshot.id,
    status,
    statusMessage: `${snapshot.status}: ${detail}`.slice(0, 500),
    createdAt: new Date(snapshot.createdAt).toISOString(),
    lastUpdatedAt: new Date(updated).toISOString(),
    ttl: null,
    ...(status === 'working' ? { pollInterval } : {}),
  };
}

/** The `collect_task` reply as a tool result: text for every client, structured content for those that read it. */
export function resultOf(snapshot: TaskSnapshot): CallToolResult {
  const reply = collectReply(snapshot);
  return {
    content: [{ type: 'text', text: JSON.stringify(reply) }],
    structuredContent: reply,
    ...(snapshot.status === 'completed' ? {} : { isError: true }),
  };
}
