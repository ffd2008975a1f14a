import type { SupervisorOptions } from '@errand/core';
import { startServe } from '@errand/serve';
import type { CliSettings } from './config.js';
import { openSupervisor } from './open-supervisor.js';
import { loadServeConfig } from './serve-config.js';
import type { StoreChoice } from './store-choice.js';

/** What `errand serve` was given. */
export interface ServeFlags {
  port: number;
  host: string;
  config?: string | undefined;
}

/** How long a SIGTERM gives running tasks to stop before their threads are terminated. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * `errand serve`: the HTTP API and the dashboard on one supervisor, until SIGTERM or SIGINT. Resolves with the
 * exit code once the server has shut down gracefully.
 */
export async function serveCommand(
  settings: CliSettings,
  flags: ServeFlags,
  io: { error: (text: string) => void },
  signals: NodeJS.EventEmitter = process,
): Promise<number> {
  const file = flags.config ? loadServeConfig(flags.config) : { serve: {}, supervisor: {} };
  const { store, ...supervisorExtra } = file.supervisor;
  // A store named in the file wins over --store / ERRAND_STORE / the default file.
  const storeChoice: StoreChoice | undefined =
    store?.kind === 'memory'
      ? { kind: 'memory', source: 'flag' }
      : store?.kind === 'sqlite'
        ? { kind: 'sqlite', path: store.path, source: 'flag' }
        : settings.store;
  const { supervisor, session, storePath } = openSupervisor(
    { ...settings, store: storeChoice },
    'work',
    (line) => io.error(`${line}\n`),
    supervisorExtra as Partial<SupervisorOptions>,
  );
  let handle: Awaited<ReturnType<typeof startServe>>;
  try {
    handle = await startServe(supervisor, {
      ...file.serve,
      port: flags.port,
      host: flags.host,
      anonymousSession: session.id,
      capacity: supervisorExtra.pool?.maxThreads ?? 8,
    });
  } catch (error) {
    await supervisor.close({ graceMs: 0 });
    throw error;
  }
  const tokens = file.serve.tokens?.length ?? 0;
  const who =
    tokens === 0
      ? `no tokens: every request acts in session "${session.id}"`
      : `${tokens} token${tokens === 1 ? '' : 's'}`;
  io.error(
    `errand serve: listening on ${handle.url} (${who}; tasks in ${storePath ? `the store ${storePath}` : 'memory'})\n`,
  );
  const signal = await new Promise<string>((resolve) => {
    const stop = (name: string) => {
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      resolve(name);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    signals.once('SIGTERM', onTerm);
    signals.once('SIGINT', onInt);
  });
  io.error(`errand serve: ${signal}: shutting down (tasks get ${SHUTDOWN_GRACE_MS / 1000} s to stop)\n`);
  await handle.close({ graceMs: SHUTDOWN_GRACE_MS });
  io.error('errand serve: stopped\n');
  return 0;
}
