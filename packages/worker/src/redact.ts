import { Redactor, secretValues } from './redactor.js';

/** Variables to treat as secret whatever their names (a model's `apiKeyEnv`), registered by the task entry. */
const namedSecrets = new Set<string>();
let redactor: Redactor | undefined;

/**
 * Treats the variable `name` as a secret in this thread from now on, whatever it is called: the variable a
 * model spec's `apiKeyEnv` names. Call it before the model is loaded, so even its first error is redacted.
 */
export function registerSecretEnv(name: string): void {
  if (namedSecrets.has(name)) return;
  namedSecrets.add(name);
  redactor = undefined;
}

/**
 * Replaces secret values (API keys and the like, from the worker's environment) with `[redacted]`. Applied to
 * everything that leaves the worker: output, results and errors, so a model or tool that echoes a key (an
 * SDK error that quotes a header, a tool that prints the environment) cannot carry it into a snapshot. The
 * host redacts again where it joins chunks into lines, which catches a key split across chunks.
 * The environment is read once per thread (again after `registerSecretEnv`).
 */
export function redact(text: string): string {
  redactor ??= new Redactor(secretValues(process.env, namedSecrets));
  return redactor.redact(text);
}
