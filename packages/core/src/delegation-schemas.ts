import { z } from 'zod';
import { TASK_STATUSES } from './task-state.js';

/**
 * The six delegation tools, in the order they are offered. One family: the LLM tools of `@errand/tools`, the
 * MCP server and an orchestrator agent's tools all use these names, these argument schemas and these replies.
 */
export const TOOL_NAMES = [
  'delegate_task_async',
  'check_task',
  'collect_task',
  'steer_task',
  'cancel_task',
  'list_tasks',
] as const;

/** One of {@link TOOL_NAMES}. */
export type DelegationToolName = (typeof TOOL_NAMES)[number];

/** The numeric bounds the tools enforce; they mirror the supervisor's limits so a reply names the real ones. */
export interface ToolBounds {
  /** Highest `max_iterations`. */
  maxIterations: number;
  /** Highest `timeout_seconds` for `delegate_task_async`. */
  maxTimeoutSeconds: number;
  /** Highest `preview_lines`. */
  maxPreviewLines: number;
  /** What `collect_task` waits at most (longer requests are cut to this). */
  maxCollectSeconds: number;
}

/** Most characters of a bad value echoed back: the reply must stay small whatever the model sent. */
const ECHO_CHARS = 64;

/** A value as the model gave it, short: `1e-9`, `"5" (string)`, `null`. */
export function echo(value: unknown): string {
  if (typeof value === 'number') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (text.length > ECHO_CHARS) text = `${text.slice(0, ECHO_CHARS)}…`;
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return kind === 'null' ? text : `${text} (${kind})`;
}

/**
 * A numeric argument whose every failure reads the same, in our words: the field, its real bounds, the value
 * given (`timeout_seconds must be a number from 1 to 86400, got 1e-9`). zod's own messages would name its
 * internals ("Too small: expected number to be >0").
 */
function bounded(field: string, range: { min: number; max?: number; integer: boolean }) {
  const kind = range.integer ? 'an integer' : 'a number';
  const expected =
    range.max === undefined ? `${kind}, ${range.min} or more` : `${kind} from ${range.min} to ${range.max}`;
  const error = (issue: { input?: unknown }) => `${field} must be ${expected}, got ${echo(issue.input)}`;
  let schema = z.number({ error }).min(range.min, { error });
  if (range.integer) schema = schema.int({ error });
  if (range.max !== undefined) schema = schema.max(range.max, { error });
  return schema;
}

/**
 * The six tools' argument schemas for these bounds.
 *
 * With `nullable` (the default) optional arguments are `nullish`: OpenAI strict function calling requires every
 * property to be listed as required, so models send `null` for "not given"; other hosts leave them out. Both
 * mean absent, and this is the form every call is validated with. Without it they are plain optional, the
 * form advertised where a schema may say "optional" outright (MCP, an orchestrator's tools).
 */
export function toolSchemas(bounds: ToolBounds, options: { nullable?: boolean } = {}) {
  const nullable = options.nullable ?? true;
  // The two forms differ only in `null` being accepted; the parsed types are the same up to it.
  const optional = <T extends z.ZodType>(schema: T) =>
    (nullable ? schema.nullish() : schema.optional()) as z.ZodOptional<z.ZodNullable<T>>;
  const taskId = z.string().describe('The task_id returned by delegate_task_async.');

  const delegate = z
    .object({
      goal: optional(z.string()).describe(
        'What the sub-agent must achieve, stated so it can work alone. Required (not blank) unless resume_task_id is given.',
      ),
      context: optional(z.string()).describe(
        'Background the sub-agent needs: relevant files, constraints, what was already tried.',
      ),
      toolsets: optional(z.array(z.string())).describe(
        'Toolsets the sub-agent may use, by name. Omit for every toolset the host allows.',
      ),
      model: optional(z.string()).describe(
        'A model profile name the host allows. Omit for the default model.',
      ),
      role: optional(z.enum(['worker', 'orchestrator'])).describe(
        'worker (default) or orchestrator: an orchestrator gets these tools itself, if the host allows nesting.',
      ),
      max_iterations: optional(
        bounded('max_iterations', { min: 1, max: bounds.maxIterations, integer: true }),
      ).describe(`Most model turns before the task gives up (1 to ${bounds.maxIterations}).`),
      timeout_seconds: optional(
        bounded('timeout_seconds', { min: 1, max: bounds.maxTimeoutSeconds, integer: false }),
      ).describe(`Most seconds the task may run once started (1 to ${bounds.maxTimeoutSeconds}).`),
      resume_task_id: optional(z.string()).describe(
        'Instead of a new goal, resume a stopped task (interrupted, cancelled, timed out or failed) from its last ' +
          'checkpoint: give its task_id. It keeps its goal, toolsets and model; max_iterations (which counts its ' +
          'earlier iterations too) and timeout_seconds may be given. A new task_id is returned.',
      ),
    })
    .strict();

  const check = z
    .object({
      task_id: taskId,
      preview_lines: optional(
        bounded('preview_lines', { min: 0, max: bounds.maxPreviewLines, integer: true }),
      ).describe(
        `How many of the latest output lines to include (default 10, at most ${bounds.maxPreviewLines}).`,
      ),
    })
    .strict();

  const collect = z
    .object({
      task_id: taskId,
      timeout_seconds: optional(bounded('timeout_seconds', { min: 0, integer: false })).describe(
        `Most seconds to wait for the task to finish (default 300; waits longer than ${bounds.maxCollectSeconds} are cut to ${bounds.maxCollectSeconds}). 0 = do not wait.`,
      ),
    })
    .strict();

  const steer = z
    .object({
      task_id: taskId,
      message: z.string().describe('Guidance for the sub-agent; it reads it before its next step.'),
    })
    .strict();

  const cancel = z
    .object({
      task_id: taskId,
      reason: optional(z.string()).describe('Why the task is cancelled (kept on the task).'),
    })
    .strict();

  const list = z
    .object({
      status: optional(z.enum(TASK_STATUSES)).describe('Only tasks in this status. Omit for all of them.'),
    })
    .strict();

  return { delegate, check, collect, steer, cancel, list };
}

const status = z.enum(TASK_STATUSES);
const taskError = z.object({ code: z.string(), message: z.string() });
const seconds = z.number().describe('Seconds, to a tenth.');

/**
 * The replies of the six tools (what `execute` returns as JSON, and MCP's `structuredContent`). The reply
 * builders in `delegation-replies.ts` are typed by these, so a shape is written down once. Objects are loose:
 * a client that validates replies keeps working when a field is added.
 */
export const replySchemas = {
  /** Also the shape of a task-augmented call's final result (an MCP `tasks/result`): the collect reply. */
  delegate: z
    .object({
      task_id: z.string(),
      status,
      message: z
        .string()
        .optional()
        .describe(
          'What to do next. Absent from the final result of a task-augmented call (a collect reply).',
        ),
      resumed_from: z
        .string()
        .optional()
        .describe('The task this one resumed, when resume_task_id was given.'),
    })
    .loose(),
  check: z
    .object({
      task_id: z.string(),
      status,
      goal: z.string(),
      elapsed_seconds: seconds,
      iterations: z.number(),
      output_preview: z.string(),
      output_lines: z.number(),
      dropped_lines: z.number(),
      steering: z.object({ sent: z.number(), delivered: z.number() }).loose(),
      result: z.string().optional(),
      error: taskError.optional(),
    })
    .loose(),
  collect: z
    .object({
      task_id: z.string(),
      status,
      timed_out: z.boolean(),
      elapsed_seconds: seconds,
      result: z.string().nullable(),
      output: z.string(),
      output_lines: z.number(),
      dropped_lines: z.number(),
      exit_reason: z.string().optional(),
      error: taskError.optional(),
      usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }).loose().optional(),
    })
    .loose(),
  steer: z
    .object({ ok: z.literal(true), task_id: z.string(), seq: z.number(), delivery: z.literal('queued') })
    .loose(),
  cancel: z
    .object({ ok: z.literal(true), task_id: z.string(), status, result: z.string().nullable() })
    .loose(),
  list: z
    .object({
      tasks: z.array(
        z
          .object({
            task_id: z.string(),
            goal: z.string().describe('The first 100 characters.'),
            status,
            elapsed_seconds: seconds,
            output_lines: z.number(),
          })
          .loose(),
      ),
      counts: z.record(z.string(), z.number()).describe('Tasks per status, and `total`.'),
    })
    .loose(),
} as const;

/** What each tool does to the world, as MCP's tool annotations say it. */
export interface ToolHints {
  /** Only reads. */
  readOnlyHint: boolean;
  /** May undo or destroy work (meaningful when not read-only). */
  destructiveHint: boolean;
  /** Calling it again with the same arguments changes nothing more. */
  idempotentHint: boolean;
  /** Reaches beyond the host: a sub-agent may call models and tools that touch the outside world. */
  openWorldHint: boolean;
}
