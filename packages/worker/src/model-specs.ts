/**
 * The model specs' schemas. Kept out of protocol.ts, which every worker thread loads at start, so that zod
 * (about a third of a fresh thread's start-up) is loaded only by the host and by the tasks that need it.
 */
import { z } from 'zod';

/** One scripted model turn: text and/or tool calls, optionally after a (cancellable) delay. */
export const scriptedTurnSchema = z
  .object({
    text: z.string().optional(),
    toolCalls: z
      .array(
        z.object({
          id: z.string().optional(),
          name: z.string(),
          arguments: z.unknown().optional(),
        }),
      )
      .optional(),
    usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).optional(),
    delayMs: z.number().int().nonnegative().max(3_600_000).optional(),
  })
  .strict();

/** A deterministic model that plays back plain-data turns. For tests and offline demos. */
export const scriptedModelSpecSchema = z
  .object({
    provider: z.literal('scripted'),
    turns: z.array(scriptedTurnSchema).min(1),
    /** Start over at the first turn when the script runs out, instead of failing. */
    loop: z.boolean().optional(),
  })
  .strict();

/** An ES module whose default export `createModel(options)` returns a {@link Model}. */
export const moduleModelSpecSchema = z
  .object({
    provider: z.literal('module'),
    specifier: z.string().min(1),
    options: z.unknown().optional(),
  })
  .strict();

/**
 * Any OpenAI Chat Completions server (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp), streamed. The key is
 * read inside the worker from the environment variable `apiKeyEnv` names; it is never part of the spec.
 */
export const openAICompatibleModelSpecSchema = z
  .object({
    provider: z.literal('openai-compatible'),
    baseURL: z.string().url(),
    model: z.string().min(1),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional(),
    headers: z.record(z.string(), z.string()).optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
  })
  .strict();

/**
 * Any AI SDK provider package, run inside the worker: `module` (a package name or file URL) is imported there and
 * `factory` (an export such as `createAnthropic`) is called with `options` and the key read from `apiKeyEnv`;
 * `model` picks the model. The AI SDK streams the call; errand runs the tools, checkpoints and steering itself.
 *
 * @example
 * { provider: 'ai-sdk', module: '@ai-sdk/anthropic', factory: 'createAnthropic', model: 'claude-sonnet-4-5',
 *   apiKeyEnv: 'ANTHROPIC_API_KEY' }
 */
export const aiSdkModelSpecSchema = z
  .object({
    provider: z.literal('ai-sdk'),
    module: z
      .string()
      .min(1)
      .max(1_000)
      .refine(
        (value) =>
          value.startsWith('file:') || /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w.-]+)*$/.test(value),
        {
          message: 'a package name (e.g. "@ai-sdk/anthropic") or a file URL',
        },
      ),
    factory: z.string().regex(/^[A-Za-z_$][\w$]*$/, 'the name of an export (e.g. "createAnthropic")'),
    model: z.string().min(1),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional(),
    /** Plain data for the factory (`baseURL`, `headers`, …); cloned into the worker. */
    options: z.record(z.string(), z.unknown()).optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxOutputTokens: z.number().int().positive().optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
  })
  .strict();

/** A model function registered on the Supervisor (`hostModels`), called over the host bridge. */
export const hostModelSpecSchema = z
  .object({ provider: z.literal('host'), name: z.string().min(1) })
  .strict();

/** Model providers the worker can run. */
export const modelSpecSchema = z.discriminatedUnion('provider', [
  scriptedModelSpecSchema,
  moduleModelSpecSchema,
  openAICompatibleModelSpecSchema,
  aiSdkModelSpecSchema,
  hostModelSpecSchema,
]);
export type AiSdkModelSpec = z.infer<typeof aiSdkModelSpecSchema>;
export type OpenAICompatibleModelSpec = z.infer<typeof openAICompatibleModelSpecSchema>;
export type HostModelSpec = z.infer<typeof hostModelSpecSchema>;
export type ScriptedTurn = z.infer<typeof scriptedTurnSchema>;
export type ScriptedModelSpec = z.infer<typeof scriptedModelSpecSchema>;
export type ModuleModelSpec = z.infer<typeof moduleModelSpecSchema>;
/** How the worker builds the task's model. Plain data: it is cloned into the worker with the payload. */
export type ModelSpec = z.infer<typeof modelSpecSchema>;
