#!/usr/bin/env node
/**
 * `errand-mcp --config errand.json`: an MCP stdio server for the six delegation tools.
 *
 * The config file is `SupervisorOptions` as JSON (model, models, toolsets, limits, pool); relative toolset and
 * model-module paths are resolved from the config file's folder. `ERRAND_CONFIG` may name the file instead.
 * Every toolset's `options.root` is checked before serving: it must exist, and `/` or the home folder itself is
 * refused unless `--allow-broad-root` is given (MCP hosts start servers there; an agent could read every file).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Supervisor, type SupervisorOptions } from '@errand/core';
import { checkToolsetRoot } from '@errand/worker/toolsets/root-policy';
import { serveMcpStdio } from './index.js';

function configPath(): string | undefined {
  const flag = process.argv.indexOf('--config');
  if (flag !== -1) return process.argv[flag + 1];
  return process.env.ERRAND_CONFIG;
}

/** Makes `./x.mjs`-style specifiers absolute against the config file's folder. */
function fromConfig(folder: string, specifier: string): string {
  return specifier.startsWith('.') && !isAbsolute(specifier) ? resolve(folder, specifier) : specifier;
}

async function main(): Promise<void> {
  const path = configPath();
  if (!path) {
    process.stderr.write('usage: errand-mcp --config <errand.json>   (or set ERRAND_CONFIG)\n');
    process.exit(2);
  }
  const folder = dirname(resolve(path));
  const options = JSON.parse(readFileSync(path, 'utf8')) as SupervisorOptions;
  if (options.toolsets) {
    for (const [name, entry] of Object.entries(options.toolsets)) {
      options.toolsets[name] =
        typeof entry === 'string'
          ? fromConfig(folder, entry)
          : { ...entry, specifier: fromConfig(folder, entry.specifier) };
    }
  }
  for (const spec of [options.model, ...Object.values(options.models ?? {})]) {
    if (spec?.provider === 'module') spec.specifier = fromConfig(folder, spec.specifier);
  }
  for (const [name, entry] of Object.entries(options.toolsets ?? {})) {
    const root =
      typeof entry === 'string' ? undefined : (entry.options as { root?: unknown } | undefined)?.root;
    if (typeof root !== 'string') continue;
    const check = checkToolsetRoot(fromConfig(folder, root));
    if (check.broad && !process.argv.includes('--allow-broad-root')) {
      process.stderr.write(
        `errand-mcp: toolset "${name}": refusing root ${check.broad}; pick a project folder, or pass --allow-broad-root\n`,
      );
      process.exit(2);
    }
    (entry as { options: { root: string } }).options.root = check.root;
    process.stderr.write(`errand-mcp: toolset "${name}" rooted at ${check.root}\n`);
  }
  const supervisor = new Supervisor(options);
  await serveMcpStdio(supervisor);
}

main().catch((error: unknown) => {
  process.stderr.write(`errand-mcp: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
