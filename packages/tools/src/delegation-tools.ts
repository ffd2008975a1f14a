import { DEFAULT_LIMITS, isTerminal, type Limits, type Session, TaskFinishedError } from '@errand/core';
import type { z } from 'zod';
import {
  checkReply,
  collectReply,
  errorReply,
  replyForError,
  replyForIssues,
  summaryReply,
} from './replies.js';
import { TASK_STATUSES, toolSchemas, toParameters } from './schemas.js';

/** Names of the six tools, in the order they are returned. */
export const TOOL_NAMES = [
  'delegate_task_async',
  'check_task',
  'collect_task',
  'steer_task',
  'cancel_task',
  'list_tasks',
] as const;
export type DelegationToolName = (typeof TOOL_NAMES)[number];

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

/** One LLM tool. `execute` takes the model's arguments as they came and never throws. */
export interface DelegationTool {
  name: DelegationToolName;
  description: string;
  /** The zod schema the arguments are validated with. */
  inputSchema: z.ZodObject;
  /** JSON Schema of the arguments (OpenAI strict and Anthropic compatible). */
  parameters: Record<string, unknown>;
  /** Runs the tool; resolves to a JSON string, an `{"error": {code, message}}` one on any failure. */
  execute(input: unknown, options?: ExecuteOptions): Promise<string>;
}

/** Options for {@link createDelegationTools}. */
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

/**
 * The six delegation tools for one session: what an LLM uses to hand work to background sub-agents.
 *
 * @example
 * const tools = createDelegationTools(supervisor.session('chat-1'));
 * const reply = await handleToolCall(tools, call.function.name, call.function.arguments);
 */
export function createDelegationTools(
  session: Session,
  options: DelegationToolsOptions = {},
): DelegationTool[] {
  const maxCollect = options.maxCollectSeconds ?? 600;
  const defaultCollect = Math.min(options.defaultCollectSeconds ?? 300, maxCollect);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const schemas = toolSchemas({
    maxIterations: limits.maxIterations,
    maxTimeoutSeconds: Math.floor(limits.maxTimeoutMs / 1000),
    maxPreviewLines: limits.outputLines,
    maxCollectSeconds: maxCollect,
  });
  const advertise = (label: string, names: string[] | undefined) =>
    names?.length ? ` Available ${label}: ${names.join(', ')}.` : '';

  const define = <S extends z.ZodObject>(
    name: DelegationToolName,
    description: string,
    schema: S,
    run: (args: z.infer<S>, execute: ExecuteOptions) => unknown,
  ): DelegationTool => ({
    name,
    description,
    inputSchema: schema,
    parameters: toParameters(schema),
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
        `peek at progress, steer_task to redirect it, or cancel_task to stop it.${advertise('toolsets', options.toolsets)}` +
        advertise('models', options.models),
      schemas.delegate,
      (args) => {
        const id = session.delegate({
          goal: args.goal,
          ...(args.context == null ? {} : { context: args.context }),
          ...(args.toolsets == null ? {} : { toolsets: args.toolsets }),
          ...(args.model == null ? {} : { model: args.model }),
          ...(args.max_iterations == null ? {} : { maxIterations: args.max_iterations }),
          ...(args.timeout_seconds == null ? {} : { timeoutMs: Math.round(args.timeout_seconds * 1000) }),
        });
        return {
          task_id: id,
          status: session.check(id, { previewLines: 0 }).status,
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
      (args) => checkReply(session.check(args.task_id, { previewLines: args.preview_lines ?? 10 })),
    ),
    define(
      'collect_task',
      'Wait for a delegated task to finish, up to timeout_seconds, and return its result and output. If the ' +
        'timeout passes first, timed_out is true and the task keeps running: collect again later. Use ' +
        'timeout_seconds 0 to return at once. This is the preferred way to get results.',
      schemas.collect,
      async (args, execute) => {
        const seconds = Math.min(args.timeout_seconds ?? defaultCollect, maxCollect);
        return collectReply(await collectWithProgress(session, args.task_id, seconds, execute));
      },
    ),
    define(
      'steer_task',
      'Send guidance to a running or queued sub-agent, e.g. to narrow or redirect its work. It is read at the ' +
        "sub-agent's next step (before its next model call or between tool calls), not instantly; check_task " +
        'shows steering.delivered once it has landed. Finished tasks cannot be steered.',
      schemas.steer,
      (args) => {
        const receipt = session.steer(args.task_id, args.message);
        return { ok: true, task_id: receipt.taskId, seq: receipt.seq, delivery: 'queued' };
      },
    ),
    define(
      'cancel_task',
      'Stop a queued or running sub-agent. Returns its partial result. Cancelling a finished task returns a ' +
        'task_finished error whose status field is its final status (collect_task still returns its result).',
      schemas.cancel,
      async (args) => {
        const status = session.check(args.task_id, { previewLines: 0 }).status;
        if (isTerminal(status)) throw new TaskFinishedError(args.task_id, status);
        const snapshot = await session.cancel(
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
      (args) => {
        const all = session.list();
        const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<
          string,
          number
        >;
        for (const task of all) counts[task.status] = (counts[task.status] ?? 0) + 1;
        const shown = args.status == null ? all : all.filter((task) => task.status === args.status);
        return { tasks: shown.map(summaryReply), counts: { ...counts, total: all.length } };
      },
    ),
  ];
}

/** `collect`, reporting progress about once a second while it waits. */
async function collectWithProgress(
  session: Session,
  taskId: string,
  seconds: number,
  execute: ExecuteOptions,
) {
  const { onProgress, signal } = execute;
  const stopped = () => session.collect(taskId, { timeoutMs: 0 });
  if (!onProgress || seconds === 0) {
    const timeoutMs = Math.round(seconds * 1000);
    // A host that aborts the call gets the task's state now, as if the timeout had passed.
    return session.collect(taskId, { timeoutMs, ...(signal ? { signal } : {}) }).catch((error: unknown) => {
      if (signal?.aborted) return stopped();
      throw error;
    });
  }
  const started = Date.now();
  const deadline = started + seconds * 1000;
  for (;;) {
    const left = deadline - Date.now();
    const snapshot = await session.collect(taskId, { timeoutMs: Math.max(0, Math.min(1000, left)) });
    if (!snapshot.timedOut || left <= 1000 || signal?.aborted) return snapshot;
    onProgress({
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
      totalSeconds: seconds,
      status: snapshot.status,
      message: `${snapshot.status}: ${snapshot.iterations} iterations, ${snapshot.outputLines} output lines`,
    });
  }
}

/** Unknown tool names and unparsable arguments become error replies too. */
export function unknownToolReply(name: string, tools: readonly DelegationTool[]): string {
  return errorReply(
    'invalid_input',
    `unknown tool "${name.slice(0, 64)}"; available: ${tools.map((t) => t.name).join(', ')}`,
  );
}
