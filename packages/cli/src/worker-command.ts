import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SupervisorOptions } from '@errand/core';
import { UsageError } from './usage.js';

/** What `errand worker` was given. */
export interface WorkerFlags {
  redis: string;
  queue: string;
  config?: string | undefined;
  concurrency?: number | undefined;
  drainMs: number;
  stalledIntervalMs: number;
}

/** Where the worker writes: its ready line and notes go to stderr. */
export interface WorkerIo {
  error: (text: string) => void;
}

/**
 * Reads a worker's config file: `SupervisorOptions` as JSON (an `errand.json`), whose `model`, `models`,
 * `toolsets`, `limits` and `pool` apply on this worker. Keys about the supervisor's side (`executor`, `store`,
 * `serve`) are ignored, so the same file can serve both. Relative module paths (`./tools.js`) are resolved from
 * the file's folder.
 */
export function readWorkerConfig(path: string): SupervisorOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (failure) {
    throw new UsageError(`--config: cannot read ${JSON.stringify(path)}: ${(failure as Error).message}`);
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (failure) {
    throw new UsageError(`--config: ${JSON.stringify(path)} is not JSON: ${(failure as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--config: ${JSON.stringify(path)} must hold a JSON object`);
  const { executor: _executor, store: _store, serve: _serve, ...options } = parsed;
  const folder = dirname(resolve(path));
  const local = (specifier: string) =>
    specifier.startsWith('./') || specifier.startsWith('../')
      ? pathToFileURL(resolve(folder, specifier)).href
      : isAbsolute(specifier)
        ? pathToFileURL(specifier).href
        : specifier;
  const toolsets = options.toolsets as Record<string, string | { specifier: string }> | undefined;
  if (toolsets && typeof toolsets === 'object') {
    for (const [name, entry] of Object.entries(toolsets)) {
      if (typeof entry === 'string') toolsets[name] = local(entry);
      else if (entry && typeof entry.specifier === 'string') entry.specifier = local(entry.specifier);
    }
  }
  const models = [options.model, ...Object.values((options.models as Record<string, unknown>) ?? {})];
  for (const spec of models as Array<{ provider?: string; specifier?: string } | undefined>) {
    if (spec?.provider === 'module' && typeof spec.specifier === 'string')
      spec.specifier = local(spec.specifier);
  }
  return options as unknown as SupervisorOptions;
}

/**
 * Runs `errand worker` until SIGTERM or SIGINT, then drains: takes no new job, lets running tasks finish for
 * `--drain-ms`, hands back the rest (they resume from their checkpoints on another worker) and exits 0.
 */
export async function runWorker(
  flags: WorkerFlags,
  config: SupervisorOptions,
  io: WorkerIo,
): Promise<number> {
  const { ErrandWorker } = (await import('@errand/redis')) as typeof import('@errand/redis');
  let worker: Awaited<ReturnType<typeof ErrandWorker.start>>;
  try {
    worker = await ErrandWorker.start({
      redis: flags.redis,
      queue: flags.queue,
      config,
      ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      drainMs: flags.drainMs,
      stalledIntervalMs: flags.stalledIntervalMs,
      onError: (failure) => io.error(`errand worker: ${failure.message}\n`),
    });
  } catch (failure) {
    // Nothing was started, but sockets that failed to connect hold the event loop open for a few seconds more:
    // a worker that cannot start says why and exits now.
    io.error(`errand: ${(failure as Error).message}\n`);
    process.exit(1);
  }
  io.error(
    `errand worker ready: queue ${worker.queue}, concurrency ${worker.concurrency}, pid ${process.pid}\n`,
  );
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      io.error(`errand worker: ${signal}: draining (up to ${flags.drainMs} ms)\n`);
      worker.drain().then(done, (failure: Error) => {
        io.error(`errand worker: ${failure.message}\n`);
        done();
      });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  io.error('errand worker: drained\n');
  return 0;
}
