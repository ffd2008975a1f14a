import type { z } from 'zod';
import {
  checkReply,
  collectReply,
  delegateInput,
  errorReply,
  replyForError,
  replyForIssues,
  summaryReply,
} from './delegation-replies.js';
import { resumeFromTool } from './delegation-resume.js';
import { type DelegationToolName, replySchemas, type ToolHints, toolSchemas } from './delegation-schemas.js';
import { InvalidInputError, TaskFinishedError } from './errors.js';
import type { HostTool } from './host-tools.js';
import type { Limits } from './options.js';
import { DEFAULT_LIMITS } from './options.js';
import { isTerminal, TASK_STATUSES } from './task-state.js';
import type { DelegateInput, SteerReceipt, TaskSnapshot, TaskSummary } from './types.js';

/**
 * What the six tools act on: a `Session` for an LLM or MCP client, or an orchestrator task's view of its own
 * session (children one level deeper, `list` its own children).
 */
export interface DelegationTarget {
  delegate(input: DelegateInput): string;
  check(taskId: string, options: { previewLines?: number }): TaskSnapshot;
  collect(taskId: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<TaskSnapshot>;
  steer(taskId: string, message: string): SteerReceipt;
  cancel(taskId: string, options: { reason?: string }): Promise<TaskSnapshot>;
  list(): TaskSummary[];
  /**
   * Starts a new task from a stopped one's last checkpoint (`Session.resume`); returns its id. Without it,
   * `delegate_task_async` refuses `resume_task_id`.
   */
  resume?(taskId: string, options: { maxIterations?: number; timeoutMs?: number }): string;
}

/** What `execute` may be told besides its arguments. */
export interface ExecuteOptions {
  /** Stops a waiting `collect_task` early (it then replies as if its timeout had passed). */
  signal?: AbortSignal;
  /** Called about once a second while `collect_task` waits, so a host can show progress. */
  onProgress?: (progress: {
    elapsedSeconds: number;
    totalSeconds: number;
    status: string;
    message: string;
  }) => void;
}

/** Options for {@link defineDelegationTools} (and `createDelegationTools` in `@errand/tools`). */
export interface DelegationToolsOptions {
  /** Toolset names to advertise to the model (the supervisor's allow-list still decides). */
  toolsets?: string[];
  /** Model profile names to advertise to the model. */
  models?: string[];
  /** `collect_task` waits at most this long, whatever the model asks. @default 600 */
  maxCollectSeconds?: number;
  /** `collect_task` wait when the model gives none. @default 300 */
  defaultCollectSeconds?: number;
  /**
   * The supervisor's limits, so argument errors name the real bounds (`max_iterations` up to
   * `limits.maxIterations`, `timeout_seconds` up to `limits.maxTimeoutMs / 1000`, `preview_lines` up to
   * `limits.outputLines`). `createMcpServer` passes `supervisor.limits`.
   * @default DEFAULT_LIMITS
   * @example
   * createDelegationTools(supervisor.session('chat-1'), { limits: supervisor.limits });
   */
  limits?: Partial<Pick<Limits, 'maxIterations' | 'maxTimeoutMs' | 'outputLines'>>;
}

/** One delegation tool, as defined once for every way it is offered. */
export interface DelegationToolDefinition {
  name: DelegationToolName;
  description: string;
  /** What calls are validated with: optional arguments admit `null` (OpenAI strict). */
  inputSchema: z.ZodObject;
  /** The same arguments with optional ones plainly optional, for schemas that can say so (MCP). */
  advertisedSchema: z.ZodObject;
  /** The reply's shape (see `replySchemas`). */
  outputSchema: z.ZodObject;
  hints: ToolHints;
  /** Runs the tool; resolves to a JSON string, an `{"error": {code, message}}` one on any failure. */
  execute(input: unknown, options?: ExecuteOptions): Promise<string>;
}

const hints = (readOnly: boolean, destructive: boolean, idempotent: boolean, openWorld: boolean) => ({
  readOnlyHint: readOnly,
  destructiveHint: destructive,
  idempotentHint: idempotent,
  openWorldHint: openWorld,
});

/**
 * The six delegation tools over one target: names, argument schemas, replies and errors, written once. The
 * LLM tools, the MCP server and an orchestrator's host tools are all views of these.
 *
 * @example
 * const tools = defineDelegationTools(supervisor.session('chat-1'), { limits: supervisor.limits });
 * const reply = await tools[0].execute({ goal: 'summarise the open issues' });
 */
export function defineDelegationTools(
  target: DelegationTarget,
  options: DelegationToolsOptions = {},
): DelegationToolDefinition[] {
  const maxCollect = options.maxCollectSeconds ?? 600;
  const defaultCollect = Math.min(options.defaultCollectSeconds ?? 300, maxCollect);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const bounds = {
    maxIterations: limits.maxIterations,
    maxTimeoutSeconds: Math.floor(limits.maxTimeoutMs / 1000),
    maxPreviewLines: limits.outputLines,
    maxCollectSeconds: maxCollect,
  };
  const schemas = toolSchemas(bounds);
  const advertised = toolSchemas(bounds, { nullable: false });
  const advertise = (label: string, names: string[] | undefined) =>
    names?.length ? ` Available ${label}: ${names.join(', ')}.` : '';

  const define = <S extends z.ZodObject>(
    name: DelegationToolName,
    description: string,
    schema: S,
    shapes: { advertised: z.ZodObject; output: z.ZodObject; hints: ToolHints },
    run: (args: z.infer<S>, execute: ExecuteOptions) => unknown,
  ): DelegationToolDefinition => ({
    name,
    description,
    inputSchema: schema,
    advertisedSchema: shapes.advertised,
    outputSchema: shapes.output,
    hints: shapes.hints,
    async execute(input, execute = {}) {
      try {
        const parsed = schema.safeParse(input ?? {});
        if (!parsed.success) return replyForIssues(parsed.error);
        return JSON.stringify(await run(parsed.data, execute));
      } catch (error) {
        return replyForError(error);
      }
    },
  });

  return [
    define(
      'delegate_task_async',
      'Hand a goal to a background sub-agent and get a task_id back at once. The sub-agent works in parallel ' +
        'while you keep working on other things; do not wait idly for it. Give a self-contained goal and any ' +
        'context it needs. Later, call collect_task with a timeout to get the result (preferred), check_task to ' +
        'peek at progress, steer_task to redirect it, or cancel_task to stop it. To go on with a task that stopped ' +
        `before finishing (interrupted, cancelled, timed out, failed), pass its task_id as resume_task_id instead of a goal.${advertise('toolsets', options.toolsets)}` +
        advertise('models', options.models),
      schemas.delegate,
      {
        advertised: advertised.delegate,
        output: replySchemas.delegate,
        hints: hints(false, false, false, true),
      },
      (args) => {
        if (args.resume_task_id != null) {
          return resumeFromTool(target, { ...args, resume_task_id: args.resume_task_id });
        }
        if (args.goal == null) {
          throw new InvalidInputError(
            'goal',
            args.goal,
            'is required: what the sub-agent must achieve (or give resume_task_id to resume a stopped task)',
          );
        }
        const id = target.delegate(delegateInput({ ...args, goal: args.goal }));
        return {
          task_id: id,
          status: target.check(id, { previewLines: 0 }).status,
          message:
            'Started in the background. Keep working; call collect_task with this task_id and a timeout when ' +
            'you need the result.',
        };
      },
    ),
    define(
      'check_task',
      'Peek at a delegated task without waiting: its status, iterations, steering delivery and the latest output ' +
        'lines. Cheap, but do not call it in a tight loop: if you only need the result, use collect_task with a ' +
        'timeout instead.',
      schemas.check,
      { advertised: advertised.check, output: replySchemas.check, hints: hints(true, false, true, false) },
      (args) => checkReply(target.check(args.task_id, { previewLines: args.preview_lines ?? 10 })),
    ),
    define(
      'collect_task',
      'Wait for a delegated task to finish, up to timeout_seconds, and return its result and output. If the ' +
        'timeout passes first, timed_out is true and the task keeps running: collect again later. Use ' +
        'timeout_seconds 0 to return at once. This is the preferred way to get results.',
      schemas.collect,
      {
        advertised: advertised.collect,
        output: replySchemas.collect,
        hints: hints(true, false, true, false),
      },
      async (args, execute) => {
        const seconds = Math.min(args.timeout_seconds ?? defaultCollect, maxCollect);
        return collectReply(await collectWithProgress(target, args.task_id, seconds, execute));
      },
    ),
    define(
      'steer_task',
      'Send guidance to a running or queued sub-agent, e.g. to narrow or redirect its work. It is read at the ' +
        "sub-agent's next step (before its next model call or between tool calls), not instantly; check_task " +
        'shows steering.delivered once it has landed. Finished tasks cannot be steered.',
      schemas.steer,
      { advertised: advertised.steer, output: replySchemas.steer, hints: hints(false, false, false, false) },
      (args) => {
        const receipt = target.steer(args.task_id, args.message);
        return { ok: true, task_id: receipt.taskId, seq: receipt.seq, delivery: 'queued' };
      },
    ),
    define(
      'cancel_task',
      'Stop a queued or running sub-agent. Returns its partial result. Cancelling a finished task returns a ' +
        'task_finished error whose status field is its final status (collect_task still returns its result).',
      schemas.cancel,
      { advertised: advertised.cancel, output: replySchemas.cancel, hints: hints(false, true, false, false) },
      async (args) => {
        const status = target.check(args.task_id, { previewLines: 0 }).status;
        if (isTerminal(status)) throw new TaskFinishedError(args.task_id, status);
        const snapshot = await target.cancel(
          args.task_id,
          args.reason == null ? {} : { reason: args.reason },
        );
        return { ok: true, task_id: snapshot.id, status: snapshot.status, result: snapshot.result ?? null };
      },
    ),
    define(
      'list_tasks',
      'List your delegated tasks (optionally only one status) with counts per status. Use it to find task ids ' +
        'or see what is still running.',
      schemas.list,
      { advertised: advertised.list, output: replySchemas.list, hints: hints(true, false, true, false) },
      (args) => {
        const all = target.list();
        const counts: Record<string, number> = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0]));
        for (const task of all) counts[task.status] = (counts[task.status] ?? 0) + 1;
        const shown = args.status == null ? all : all.filter((task) => task.status === args.status);
        return { tasks: shown.map(summaryReply), counts: { ...counts, total: all.length } };
      },
    ),
  ];
}

/** `collect`, reporting progress about once a second while it waits. */
async function collectWithProgress(
  target: DelegationTarget,
  taskId: string,
  seconds: number,
  execute: ExecuteOptions,
) {
  const { onProgress, signal } = execute;
  const stopped = () => target.collect(taskId, { timeoutMs: 0 });
  if (!onProgress || seconds === 0) {
    const timeoutMs = Math.round(seconds * 1000);
    // A host that aborts the call gets the task's state now, as if the timeout had passed.
    return target.collect(taskId, { timeoutMs, ...(signal ? { signal } : {}) }).catch((error: unknown) => {
      if (signal?.aborted) return stopped();
      throw error;
    });
  }
  const started = Date.now();
  const deadline = started + seconds * 1000;
  for (;;) {
    const left = deadline - Date.now();
    const snapshot = await target.collect(taskId, { timeoutMs: Math.max(0, Math.min(1000, left)) });
    if (!snapshot.timedOut || left <= 1000 || signal?.aborted) return snapshot;
    onProgress({
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
      totalSeconds: seconds,
      status: snapshot.status,
      message: `${snapshot.status}: ${snapshot.iterations} iterations, ${snapshot.outputLines} output lines`,
    });
  }
}

/** Unknown tool names become error replies too. */
export function unknownToolReply(name: string, tools: readonly { name: string }[]): string {
  return errorReply(
    'invalid_input',
    `unknown tool "${name.slice(0, 64)}"; available: ${tools.map((t) => t.name).join(', ')}`,
  );
}

/**
 * The operations an orchestrator agent's tools act on, as the engine provides them: a target per parent task.
 * The engine finds the parent's session and depth, and refuses a parent that is stopping or finished.
 */
export interface DelegationHost {
  /** The supervisor's limits, so the orchestrator's tools name the real bounds. */
  readonly limits: Limits;
  /** The parent's session seen from the parent: children are delegated one level deeper. */
  targetFor(parentId: string): DelegationTarget;
}

/**
 * The six delegation tools as host tools for one orchestrator task: the same names, arguments and replies an
 * LLM gets from `@errand/tools`. Children are delegated in the same session, one level deeper; the engine
 * enforces `limits.maxDepth`. `collect_task` waits at most `maxWaitMs`, so it answers before the bridge call
 * times out.
 */
export function delegationTools(
  host: DelegationHost,
  parent: string,
  maxWaitMs: number,
): Record<string, HostTool> {
  const tools = defineDelegationTools(host.targetFor(parent), {
    limits: host.limits,
    maxCollectSeconds: Math.max(0, Math.floor(maxWaitMs / 1000)),
  });
  return Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      {
        description: tool.description,
        // The worker offers the model this schema; arguments that fail it still pass here, on purpose, so
        // `execute` answers with the same short `invalid_input` reply every host gets (and `null` for "not
        // given", which the advertised form leaves out, is accepted).
        input: tool.advertisedSchema.catch((context) => context.value as Record<string, unknown>),
        run: (args: unknown, context: { signal: AbortSignal }) =>
          tool.execute(args, { signal: context.signal }),
      } satisfies HostTool,
    ]),
  );
}
