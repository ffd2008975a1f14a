import { describe, expect, it } from 'vitest';
import { decideStore, defaultStorePath, probeSqlite, type StoreChoice, storeChoice } from './store-choice.js';

describe('defaultStorePath', () => {
  it('is $XDG_STATE_HOME/errand/errand.db, else ~/.local/state/errand/errand.db', () => {
    expect(defaultStorePath({ XDG_STATE_HOME: '/state' }, '/home/ada', 'linux')).toBe(
      '/state/errand/errand.db',
    );
    expect(defaultStorePath({}, '/home/ada', 'linux')).toBe('/home/ada/.local/state/errand/errand.db');
    expect(defaultStorePath({}, '/Users/ada', 'darwin')).toBe('/Users/ada/.local/state/errand/errand.db');
    // The XDG spec: a relative (or empty) value is ignored.
    expect(defaultStorePath({ XDG_STATE_HOME: 'state' }, '/home/ada', 'linux')).toBe(
      '/home/ada/.local/state/errand/errand.db',
    );
    expect(defaultStorePath({ XDG_STATE_HOME: '' }, '/home/ada', 'linux')).toBe(
      '/home/ada/.local/state/errand/errand.db',
    );
  });
});

describe('storeChoice', () => {
  it('takes --store, then ERRAND_STORE, then the default file; "memory" keeps nothing', () => {
    const env = { XDG_STATE_HOME: '/state', ERRAND_STORE: '/env/tasks.db' };
    expect(storeChoice('/flag/tasks.db', env)).toEqual({
      kind: 'sqlite',
      path: '/flag/tasks.db',
      source: 'flag',
    });
    expect(storeChoice(undefined, env)).toEqual({ kind: 'sqlite', path: '/env/tasks.db', source: 'env' });
    expect(storeChoice(undefined, { XDG_STATE_HOME: '/state' })).toEqual({
      kind: 'sqlite',
      path: '/state/errand/errand.db',
      source: 'default',
    });
    expect(storeChoice('memory', env)).toEqual({ kind: 'memory', source: 'flag' });
    expect(storeChoice(undefined, { ERRAND_STORE: 'MEMORY' })).toEqual({ kind: 'memory', source: 'env' });
    expect(storeChoice('./memory', {})).toMatchObject({ kind: 'sqlite', source: 'flag' });
    expect(storeChoice('rel/tasks.db', {})).toMatchObject({ path: `${process.cwd()}/rel/tasks.db` });
  });
});

describe('decideStore', () => {
  const byDefault: StoreChoice = { kind: 'sqlite', path: '/state/errand/errand.db', source: 'default' };
  const named: StoreChoice = { kind: 'sqlite', path: '/data/tasks.db', source: 'flag' };

  it('uses the file when better-sqlite3 loads, and memory when asked', () => {
    expect(decideStore(byDefault, { loadable: true })).toEqual({
      use: { kind: 'sqlite', path: '/state/errand/errand.db' },
      path: '/state/errand/errand.db',
    });
    expect(decideStore({ kind: 'memory', source: 'flag' }, { loadable: false, installed: false })).toEqual({
      use: { kind: 'memory' },
    });
  });

  it('without better-sqlite3, the default store falls back to memory with one line saying how to install it', () => {
    const missing = decideStore(byDefault, { loadable: false, installed: false });
    expect(missing).toMatchObject({ use: { kind: 'memory' } });
    const notice = (missing as { notice: string }).notice;
    expect(notice.split('\n')).toHaveLength(1);
    expect(notice).toMatch(/^errand: tasks are kept in memory and forgotten when this command ends: /);
    expect(notice).toContain('npm install better-sqlite3@12');

    const unbuilt = decideStore(byDefault, {
      loadable: false,
      installed: true,
      reason: 'Could not locate the bindings file',
    });
    expect((unbuilt as { notice: string }).notice).toMatch(
      /cannot be loaded \(Could not locate the bindings file\).*npm rebuild better-sqlite3/,
    );
  });

  it('without better-sqlite3, a store asked for by name is refused rather than silently forgotten', () => {
    expect(decideStore(named, { loadable: false, installed: false })).toEqual({
      refuse: expect.stringMatching(
        /^--store \/data\/tasks\.db needs SQLite: .*npm install better-sqlite3@12/,
      ),
    });
    expect(decideStore({ ...named, source: 'env' }, { loadable: false, installed: false })).toEqual({
      refuse: expect.stringMatching(/^ERRAND_STORE /),
    });
  });
});

describe('probeSqlite', () => {
  it('finds better-sqlite3 loadable in this workspace (it is installed and built here)', () => {
    expect(probeSqlite()).toEqual({ loadable: true });
  });
});
