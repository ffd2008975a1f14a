#!/usr/bin/env node
/**
 * `errand-mcp --config errand.json`: an MCP stdio server for the six delegation tools.
 *
 * The config file is `SupervisorOptions` as JSON (model, models, toolsets, limits, pool); relative toolset and
 * model-module paths are resolved from the config file's folder. `ERRAND_CONFIG` may name the file instead.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Supervisor, type SupervisorOptions } from '@errand/core';
import { serveMcpStdio } from './mcp-server.js';

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
  const supervisor = new Supervisor(options);
  await serveMcpStdio(supervisor);
}

main().catch((error: unknown) => {
  process.stderr.write(`errand-mcp: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
