import { Redactor, secretValues } from '@errand/worker';
import type { ResolvedOptions } from './options.js';

/**
 * The host's redactor: the same secrets the workers hide (they inherit this process's environment), plus the
 * variables the configured models' `apiKeyEnv` name, whatever they are called. Workers redact each chunk;
 * the host must redact again where it joins chunks into lines (a key can arrive in two deltas) and on what it
 * builds itself (crash messages, `worker-error` events).
 */
export function hostRedactor(
  options: Pick<ResolvedOptions, 'model' | 'models'>,
  env = process.env,
): Redactor {
  const names: string[] = [];
  for (const spec of [options.model, ...Object.values(options.models)]) {
    if ((spec.provider === 'openai-compatible' || spec.provider === 'ai-sdk') && spec.apiKeyEnv)
      names.push(spec.apiKeyEnv);
  }
  return new Redactor(secretValues(env, names));
}

/** A copy of `error` with its message and stack redacted (for events that hand errors to the host's code). */
export function redactError(error: unknown, redactor: Redactor): Error {
  if (!(error instanceof Error)) return new Error(redactor.redact(String(error)));
  if (!redactor.active) return error;
  const copy = new Error(redactor.redact(error.message));
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = redactor.redact(error.stack);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}
