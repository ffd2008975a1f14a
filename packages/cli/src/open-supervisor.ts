import { type Session, StoreLockedError, Supervisor, type SupervisorOptions } from '@errand/core';
import { CLI_SESSION, type CliSettings, supervisorOptions } from './config.js';
import { decideStore, probeSqlite, type StoreChoice } from './store-choice.js';

/** A supervisor opened for a command, its session, and the store it really uses. */
export interface OpenedSupervisor {
  supervisor: Supervisor;
  session: Session;
  /** The store file, or undefined for memory (asked for, or fallen back to). */
  storePath: string | undefined;
}

/**
 * What the command does with the store. `work` (run, demo, mcp, resume) starts tasks; `inspect` (tasks, show)
 * only reads them and starts no thread.
 */
export type Purpose = 'work' | 'inspect';

/**
 * Opens the supervisor a command needs, on the store the settings chose (see `decideStore`). A store file held
 * by another errand process (an `errand mcp` a client keeps open, a `run` still going) is an error, except for
 * the default file when the command only needs somewhere to run tasks (`run`, `demo`, `mcp`): then it runs in
 * memory, saying so on stderr, rather than not at all. Any other failure to open (a file that is not a store)
 * is thrown with the file's path in its message.
 */
export function openSupervisor(
  settings: CliSettings,
  purpose: Purpose,
  note: (line: string) => void,
  extra: Partial<SupervisorOptions> = {},
): OpenedSupervisor {
  const choice: StoreChoice = settings.store ?? { kind: 'memory', source: 'flag' };
  const decision = decideStore(choice, choice.kind === 'sqlite' ? probeSqlite() : { loadable: true });
  if ('refuse' in decision) throw new Error(decision.refuse);
  if (decision.notice) note(decision.notice);
  const options = supervisorOptions(settings, {
    ...extra,
    // Reading the store needs no thread; Piscina would otherwise start one at once.
    ...(purpose === 'inspect' ? { pool: { minThreads: 0, ...extra.pool } } : {}),
  });
  const open = (store: NonNullable<SupervisorOptions['store']>) => {
    const supervisor = new Supervisor({ ...options, store });
    return { supervisor, session: supervisor.session(settings.session ?? CLI_SESSION) };
  };
  try {
    return { ...open(decision.use), storePath: decision.path };
  } catch (error) {
    if (!StoreLockedError.isInstance(error) || error.holder !== 'another-process') throw error;
    if (purpose === 'work' && choice.source === 'default') {
      note(
        `errand: tasks are kept in memory and forgotten when this command ends: the task store ${error.path} is in use by another errand process`,
      );
      return { ...open({ kind: 'memory' }), storePath: undefined };
    }
    throw new Error(
      `the task store ${error.path} is in use by another errand process (an errand mcp or run still going): one process at a time; wait for it to end, or pass --store PATH or --store memory`,
    );
  }
}
