import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { SupervisorOptions } from '@errand/core';
import { parseServeConfig, type ServeConfig } from '@errand/serve';
import { UsageError } from './usage.js';

/** `errand.json` split in two: the `serve` key, and everything else (`SupervisorOptions`). */
export interface ServeConfigFile {
  serve: ServeConfig;
  supervisor: Partial<SupervisorOptions>;
}

/** Makes `./x.mjs`-style paths absolute against the config file's folder, as `errand-mcp` does. */
function fromConfig(folder: string, path: string): string {
  return path.startsWith('.') && !isAbsolute(path) ? resolve(folder, path) : path;
}

/**
 * Reads a config file for `errand serve`. `serve` is checked here (strictly: an unknown key is named, with the
 * known key it resembles); the rest is checked by the `Supervisor`, just as strictly. Relative toolset and
 * model-module specifiers, toolset roots and a SQLite store path are resolved from the file's folder.
 */
export function loadServeConfig(path: string): ServeConfigFile {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--config ${absolute}: ${(error as NodeJS.ErrnoException).code ?? 'cannot be read'}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${absolute} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--config ${absolute} must hold a JSON object`);
  const { serve, ...rest } = parsed as Record<string, unknown>;
  const folder = dirname(absolute);
  const supervisor = rest as Partial<SupervisorOptions>;
  if (supervisor.toolsets && typeof supervisor.toolsets === 'object') {
    for (const [name, entry] of Object.entries(supervisor.toolsets)) {
      if (typeof entry === 'string') supervisor.toolsets[name] = fromConfig(folder, entry);
      else if (entry && typeof entry === 'object' && typeof entry.specifier === 'string') {
        const options = entry.options as { root?: unknown } | undefined;
        supervisor.toolsets[name] = {
          ...entry,
          specifier: fromConfig(folder, entry.specifier),
          ...(options && typeof options.root === 'string'
            ? { options: { ...options, root: resolve(folder, options.root) } }
            : {}),
        };
      }
    }
  }
  for (const spec of [supervisor.model, ...Object.values(supervisor.models ?? {})]) {
    if (spec?.provider === 'module' && typeof spec.specifier === 'string')
      spec.specifier = fromConfig(folder, spec.specifier);
  }
  if (supervisor.store?.kind === 'sqlite' && typeof supervisor.store.path === 'string')
    supervisor.store = { ...supervisor.store, path: resolve(folder, supervisor.store.path) };
  return { serve: parseServeConfig(serve), supervisor };
}
