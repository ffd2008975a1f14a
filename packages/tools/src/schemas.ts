import { z } from 'zod';

/** Statuses a task can be in, for `list_tasks` filtering. */
export const TASK_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'timed_out'] as const;

// Optional arguments are `nullish`: OpenAI strict function calling requires every property to be listed as
// required, so models send `null` for "not given"; other hosts simply leave them out. Both mean absent.
const taskId = z.string().describe('The task_id returned by delegate_task_async.');

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

/** The six tools' argument schemas for these bounds. */
export function toolSchemas(bounds: ToolBounds) {
  const delegate = z
    .object({
      goal: z
        .string()
        .describe('What the sub-agent must achieve, stated so it can work alone. Required, not blank.'),
      context: z
        .string()
        .nullish()
        .describe('Background the sub-agent needs: relevant files, constraints, what was already tried.'),
      toolsets: z
        .array(z.string())
        .nullish()
        .describe('Toolsets the sub-agent may use, by name. Omit for every toolset the host allows.'),
      model: z
        .string()
        .nullish()
        .describe('A model profile name the host allows. Omit for the default model.'),
      max_iterations: bounded('max_iterations', { min: 1, max: bounds.maxIterations, integer: true })
        .nullish()
        .describe(`Most model turns before the task gives up (1 to ${bounds.maxIterations}).`),
      timeout_seconds: bounded('timeout_seconds', { min: 1, max: bounds.maxTimeoutSeconds, integer: false })
        .nullish()
        .describe(`Most seconds the task may run once started (1 to ${bounds.maxTimeoutSeconds}).`),
    })
    .strict();

  const check = z
    .object({
      task_id: taskId,
      preview_lines: bounded('preview_lines', { min: 0, max: bounds.maxPreviewLines, integer: true })
        .nullish()
        .describe(
          `How many of the latest output lines to include (default 10, at most ${bounds.maxPreviewLines}).`,
        ),
    })
    .strict();

  const collect = z
    .object({
      task_id: taskId,
      timeout_seconds: bounded('timeout_seconds', { min: 0, integer: false })
        .nullish()
        .describe(
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
      reason: z.string().nullish().describe('Why the task is cancelled (kept on the task).'),
    })
    .strict();

  const list = z
    .object({
      status: z.enum(TASK_STATUSES).nullish().describe('Only tasks in this status. Omit for all of them.'),
    })
    .strict();

  return { delegate, check, collect, steer, cancel, list };
}

/**
 * JSON Schema for a tool's arguments, in the form both OpenAI strict function calling and Anthropic's
 * `input_schema` accept: an object, every property listed in `required` (optional ones admit `null`), and no
 * additional properties.
 */
export function toParameters(schema: z.ZodObject): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  json.required = Object.keys((json.properties as Record<string, unknown> | undefined) ?? {});
  json.additionalProperties = false;
  return json;
}
