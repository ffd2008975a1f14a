import { resolve } from 'node:path';
import type { ModelSpec, SupervisorOptions } from '@errand/core';
import { type StoreChoice, storeChoice } from './store-choice.js';
import { UsageError } from './usage.js';

/** Where the CLI's settings come from: flags first, then the environment. */
export interface CliSettings {
  /** Folder the built-in toolsets may read. */
  root: string;
  /** OpenAI-compatible server, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
  baseUrl?: string | undefined;
  /** Model id on that server. */
  modelId?: string | undefined;
  /** Name of the environment variable holding the API key (read inside the worker, never logged). */
  apiKeyEnv?: string | undefined;
  /** Pause of the offline demo model before each turn. */
  thinkMs?: number | undefined;
  /** Where tasks are kept. @default memory (the command's default comes from {@link settingsFrom}) */
  store?: StoreChoice | undefined;
  /** The errand session the commands work in. @default {@link CLI_SESSION} */
  session?: string | undefined;
}

/**
 * The one session the CLI's commands share in a store (`run`, `demo`, `resume`, `tasks`, `show`, and `mcp`
 * unless `--session` names another), so that each command finds what the others left.
 */
export const CLI_SESSION = 'cli';

/** What the global flags gave (each may be absent). */
export interface CliFlags extends Omit<CliSettings, 'root' | 'store' | 'session'> {
  root?: string | undefined;
  /** `--store`: a file path, or `memory`. */
  store?: string | undefined;
  session?: string | undefined;
}

/** Settings from `ERRAND_*` variables, overridden by whatever the flags gave. */
export function settingsFrom(flags: CliFlags, env: NodeJS.ProcessEnv = process.env): CliSettings {
  const session = flags.session ?? env.ERRAND_SESSION ?? CLI_SESSION;
  if (session.trim() === '') throw new UsageError('--session must not be blank');
  return {
    root: resolve(flags.root ?? env.ERRAND_ROOT ?? process.cwd()),
    baseUrl: flags.baseUrl ?? env.ERRAND_BASE_URL,
    modelId: flags.modelId ?? env.ERRAND_MODEL,
    apiKeyEnv:
      flags.apiKeyEnv ?? env.ERRAND_API_KEY_ENV ?? (env.OPENAI_API_KEY ? 'OPENAI_API_KEY' : undefined),
    thinkMs: flags.thinkMs,
    store: storeChoice(flags.store, env),
    session,
  };
}

/** The offline demo model, loaded by the worker from this package's built file. */
export function demoModel(thinkMs?: number): ModelSpec {
  return {
    provider: 'module',
    specifier: new URL('./demo-model.js', import.meta.url).href,
    options: thinkMs === undefined ? {} : { thinkMs },
  };
}

/**
 * Supervisor options for the CLI: profiles `demo` (always) and `remote` (when a base URL and model id are
 * set, which then becomes the default), and the built-in `workspace` and `compute` toolsets rooted at `root`.
 */
export function supervisorOptions(
  settings: CliSettings,
  extra: Partial<SupervisorOptions> = {},
): SupervisorOptions {
  const models: Record<string, ModelSpec> = { demo: demoModel(settings.thinkMs) };
  if (settings.baseUrl && settings.modelId) {
    models.remote = {
      provider: 'openai-compatible',
      baseURL: settings.baseUrl,
      model: settings.modelId,
      ...(settings.apiKeyEnv ? { apiKeyEnv: settings.apiKeyEnv } : {}),
    } as unknown as ModelSpec;
  } else if (settings.baseUrl || settings.modelId) {
    throw new UsageError(
      'a real model needs both a base URL (--base-url / ERRAND_BASE_URL) and a model id (--model-id / ERRAND_MODEL)',
    );
  }
  const toolset = (name: string) => ({
    specifier: import.meta.resolve(`@errand/worker/toolsets/${name}`),
    options: { root: settings.root },
  });
  return {
    model: models.remote ?? models.demo!,
    models,
    toolsets: { workspace: toolset('workspace'), compute: toolset('compute') },
    ...extra,
  };
}
