import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EngineParts } from '../../engine.js';
import { UnavailableError } from '../../errors.js';
import type { Executor, ExecutorContext } from '../../executor.js';
import type { BullmqExecutorOption, ResolvedOptions } from '../../options.js';
import { SharedViewStore } from '../../stores/shared-view-store.js';
import { DeferredExecutor } from './deferred-executor.js';
import { probeTcp } from './reachable.js';

/** What `@errand/redis` hands core: one call that connects and returns the executor. */
export interface BullmqConnector {
  /**
   * Connects to Redis, loads the shared view's records and attaches its backend, and resolves to the bullmq
   * executor. Rejects (with an `UnavailableError` naming `endpoint`) when Redis cannot be reached in time.
   */
  connectBullmq(input: BullmqConnectInput): Promise<Executor>;
}

/** The input of {@link BullmqConnector.connectBullmq}. */
export interface BullmqConnectInput {
  executor: Required<BullmqExecutorOption>;
  /** The Redis URL with any password masked, for messages. */
  endpoint: string;
  view: SharedViewStore;
  context: ExecutorContext;
}

/** The package that implements the bullmq executor; core never depends on it. */
export const REDIS_PACKAGE = '@errand/redis';

/** Longest wait for Redis to become ready once its port answered (the constructor's TCP probe waits 2.5 s). */
export const CONNECT_TIMEOUT_MS = 2_000;

/** A Redis URL as it may be shown: the password, if any, masked. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * The engine parts of the bullmq executor: a shared view store and an executor that stands in until
 * `@errand/redis` is loaded and connected. Throws at once when the package is not installed, or when nothing
 * answers at the URL's host and port (an `UnavailableError` naming the URL), so a misconfigured supervisor
 * fails in its constructor.
 */
export function bullmqParts(options: ResolvedOptions): Required<EngineParts> {
  if (options.executor.kind !== 'bullmq') throw new Error('not a bullmq executor');
  const executor = options.executor;
  const endpoint = maskUrl(executor.connection);
  const url = new URL(executor.connection);
  const probe = probeTcp(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 6379), 2_500);
  if (!probe.reachable) throw new UnavailableError(endpoint, `Redis is unreachable (${probe.reason})`);
  const where = resolveRedisPackage();
  const load = import(where) as Promise<BullmqConnector>;
  const view = new SharedViewStore(options.limits.retainFinished);
  return {
    store: view,
    executor: (context: ExecutorContext) =>
      new DeferredExecutor(
        load.then((connector) => connector.connectBullmq({ executor, endpoint, view, context })),
        context.events,
      ),
  };
}

/**
 * Finds `@errand/redis`, synchronously: from where core is installed (a host that installs both), else from the
 * current folder. Its absence is a clear error, thrown by the constructor, not a stack trace later.
 */
function resolveRedisPackage(): string {
  try {
    return import.meta.resolve(REDIS_PACKAGE);
  } catch (first) {
    try {
      return pathToFileURL(createRequire(join(process.cwd(), 'noop.js')).resolve(REDIS_PACKAGE)).href;
    } catch {
      throw new Error(
        `the bullmq executor needs the package ${REDIS_PACKAGE}: install it next to @errand/core (npm install ${REDIS_PACKAGE})`,
        { cause: first },
      );
    }
  }
}
