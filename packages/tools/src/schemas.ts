import { z } from 'zod';

/** Statuses a task can be in, for `list_tasks` filtering. */
export const TASK_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'timed_out'] as const;

// Optional arguments are `nullish`: OpenAI strict function calling requires every property to be listed as
// required, so models send `null` for "not given"; other hosts simply leave them out. Both mean absent.
const taskId = z.string().describe('The task_id returned by delegate_task_async.');

export const delegateInput = z
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
    model: z.string().nullish().describe('A model profile name the host allows. Omit for the default model.'),
    max_iterations: z
      .number()
      .int()
      .positive()
      .nullish()
      .describe('Most model turns before the task gives up.'),
    timeout_seconds: z.number().positive().nullish().describe('Most seconds the task may run once started.'),
  })
  .strict();

export const checkInput = z
  .object({
    task_id: taskId,
    preview_lines: z
      .number()
      .int()
      .min(0)
      .max(200)
      .nullish()
      .describe('How many of the latest output lines to include (default 10, at most 200).'),
  })
  .strict();

export const collectInput = z
  .object({
    task_id: taskId,
    timeout_seconds: z
      .number()
      .min(0)
      .nullish()
      .describe(
        'Most seconds to wait for the task to finish (default 300; the host may cap it). 0 = do not wait.',
      ),
  })
  .strict();

export const steerInput = z
  .object({
    task_id: taskId,
    message: z.string().describe('Guidance for the sub-agent; it reads it before its next step.'),
  })
  .strict();

export const cancelInput = z
  .object({
    task_id: taskId,
    reason: z.string().nullish().describe('Why the task is cancelled (kept on the task).'),
  })
  .strict();

export const listInput = z
  .object({
    status: z.enum(TASK_STATUSES).nullish().describe('Only tasks in this status. Omit for all of them.'),
  })
  .strict();

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
