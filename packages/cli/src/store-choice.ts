import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { SupervisorOptions } from '@errand/core';

/**
 * Where the CLI keeps its tasks, as asked: `--store PATH` (or `ERRAND_STORE`), `memory` to keep nothing, or by
 * default a SQLite file in the platform's state folder. `source` says who asked, which decides what happens
 * when the file cannot be used (see {@link decideStore}).
 */
export type StoreChoice =
  | { kind: 'memory'; source: 'flag' | 'env' }
  | { kind: 'sqlite'; path: string; source: 'flag' | 'env' | 'default' };

/**
 * The default store file: `$XDG_STATE_HOME/errand/errand.db`, else `~/.local/state/errand/errand.db` (on Windows,
 * `%LOCALAPPDATA%\errand\errand.db` when it is set). A relative `XDG_STATE_HOME` is ignored, as the XDG spec says.
 *
 * @example
 * defaultStorePath({ XDG_STATE_HOME: '/tmp/state' }, '/home/ada') // '/tmp/state/errand/errand.db'
 */
export function defaultStorePath(
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
  platform: NodeJS.Platform = process.platform,
): string {
  const state = env.XDG_STATE_HOME;
  if (state && isAbsolute(state)) return join(state, 'errand', 'errand.db');
  if (platform === 'win32' && env.LOCALAPPDATA && isAbsolute(env.LOCALAPPDATA))
    return join(env.LOCALAPPDATA, 'errand', 'errand.db');
  return join(home, '.local', 'state', 'errand', 'errand.db');
}

/**
 * The store asked for: the flag first, then `ERRAND_STORE`, then the default file. `memory` (any case) keeps
 * nothing; a file really named "memory" is `./memory`. Relative paths are resolved from the current folder.
 */
export function storeChoice(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): StoreChoice {
  const [given, source] =
    flag !== undefined ? [flag, 'flag' as const] : env.ERRAND_STORE ? [env.ERRAND_STORE, 'env' as const] : [];
  if (given === undefined || source === undefined)
    return { kind: 'sqlite', path: defaultStorePath(env, home), source: 'default' };
  if (given.trim().toLowerCase() === 'memory') return { kind: 'memory', source };
  return { kind: 'sqlite', path: resolve(given), source };
}

/** Whether better-sqlite3 (an optional dependency) can be used here, and if not, why. */
export type SqliteProbe =
  | { loadable: true }
  | { loadable: false; installed: false }
  | { loadable: false; installed: true; reason: string };

/**
 * Tries better-sqlite3 the way `@errand/core` loads it (resolved from core's own files), including its native
 * module, which loads on the first connection: an in-memory database is opened and closed.
 */
export function probeSqlite(): SqliteProbe {
  const require = createRequire(import.meta.resolve('@errand/core'));
  let Database: new (path: string) => { close(): void };
  try {
    Database = require('better-sqlite3') as typeof Database;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND')
      return { loadable: false, installed: false };
    return { loadable: false, installed: true, reason: messageOf(error) };
  }
  try {
    new Database(':memory:').close();
    return { loadable: true };
  } catch (error) {
    return { loadable: false, installed: true, reason: messageOf(error) };
  }
}

/** What the CLI does with the store: use one (with a line for stderr, when it fell back), or refuse to run. */
export type StoreDecision =
  | { use: NonNullable<SupervisorOptions['store']>; path?: string; notice?: string }
  | { refuse: string };

/**
 * Decides the store from what was asked and whether better-sqlite3 loads. Without it, the default file falls
 * back to memory with one line saying so and how to install it (the CLI still works, it just forgets); a file
 * asked for by name (`--store PATH`, `ERRAND_STORE`) is refused instead, since keeping tasks was the point.
 */
export function decideStore(choice: StoreChoice, sqlite: SqliteProbe): StoreDecision {
  if (choice.kind === 'memory') return { use: { kind: 'memory' } };
  if (sqlite.loadable) return { use: { kind: 'sqlite', path: choice.path }, path: choice.path };
  const problem = sqlite.installed
    ? `better-sqlite3 is installed but cannot be loaded (${sqlite.reason}); rebuild it with \`npm rebuild better-sqlite3\` where errand is installed`
    : 'better-sqlite3 (an optional dependency of @errand/cli) is not installed; install it with `npm install better-sqlite3@12` where errand is installed';
  if (choice.source !== 'default') {
    const asked = choice.source === 'flag' ? '--store' : 'ERRAND_STORE';
    return { refuse: `${asked} ${choice.path} needs SQLite: ${problem} (or pass --store memory)` };
  }
  return {
    use: { kind: 'memory' },
    notice: `errand: tasks are kept in memory and forgotten when this command ends: ${problem}`,
  };
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.slice(0, 200);
}
