import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { describeValue, InvalidInputError, StoreLockedError } from '../errors.js';
import type { TaskRow } from './record-index.js';
import { migrate, readSchemaState, SCHEMA_VERSION } from './sqlite-schema.js';
import { isHeld } from './store-lock.js';

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** A store path, checked on the host thread and held for this process (see {@link prepareStorePath}). */
export interface StorePath {
  /** As given, made absolute: what messages name. */
  path: string;
  /** The real path the in-process lock is held under; release it once the store has closed. */
  realPath: string;
}

type DatabaseConstructor = typeof BetterSqlite3;
let driver: DatabaseConstructor | undefined;

/**
 * better-sqlite3 is an optional peer dependency: loaded on the first open, so a host that keeps its tasks in
 * memory never needs the native module.
 */
function loadDriver(): DatabaseConstructor {
  if (driver) return driver;
  try {
    driver = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new Error(
        'the SQLite task store needs the package better-sqlite3 (version 12), an optional peer dependency of @errand/core: install it with `npm install better-sqlite3@12`',
        { cause: error },
      );
    }
    throw unloadable(error);
  }
  return driver;
}

/**
 * The host thread's half of opening a store file, touching no byte of it: make the path absolute, create the
 * missing folders, refuse a path another store of this process holds, and check the 16-byte header of an
 * existing non-empty file. The SQLite half ({@link openDatabase}) runs on the store's writer thread; the
 * caller holds `realPath` (store-lock.ts) once that succeeds.
 */
export function prepareStorePath(path: string): StorePath {
  if (typeof path !== 'string' || path.trim() === '')
    throw new InvalidInputError('path', path, `must be a non-empty file path, got ${describeValue(path)}`);
  const absolute = resolve(path);
  const folder = dirname(absolute);
  try {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw ioError(absolute, `its folder ${folder} cannot be created or written to`, error);
  }
  const realPath = join(realpathSync(folder), basename(absolute));
  if (isHeld(realPath)) throw new StoreLockedError(absolute, 'this-process');
  checkExistingFile(absolute);
  return { path: absolute, realPath };
}

/**
 * Opens the checked file at `path` (absolute) with SQLite: take the exclusive lock and read the schema inside a
 * transaction that writes nothing; only then switch to WAL and migrate. Runs on the writer thread.
 *
 * The lock: with `locking_mode = EXCLUSIVE` a connection never gives its file locks back, so the lock taken
 * here is held until the connection closes; it is an OS file lock, which the kernel drops when the process
 * dies, so a SIGKILLed supervisor leaves no stale lock (its WAL is recovered by the next open).
 */
export function openDatabase(path: string): BetterSqlite3.Database {
  const Database = loadDriver();
  let db: BetterSqlite3.Database;
  try {
    // timeout 0: a file held by another process must fail at once, not after the default 5 s busy wait.
    db = new Database(path, { timeout: 0 });
  } catch (error) {
    // better-sqlite3 loads its native module on the first connection, so a missing build fails here.
    if (sqliteCode(error)?.startsWith('SQLITE_') !== true) throw unloadable(error);
    throw ioError(path, 'SQLite cannot open it', error);
  }
  try {
    const version = lockAndReadVersion(db, path);
    // WAL: a commit appends to the log instead of rewriting pages in place; with synchronous = NORMAL it
    // survives a process crash (not a power cut) without an fsync per batch, which keeps flushes cheap.
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, expected wal`);
    db.pragma('synchronous = NORMAL');
    // The WAL is reused after each automatic checkpoint; this caps what it keeps on disk between them.
    db.pragma('journal_size_limit = 8388608');
    migrate(db, version);
  } catch (error) {
    db.close();
    if (isOurError(error)) throw error;
    throw ioError(path, 'it cannot be prepared as a task store', error);
  }
  return db;
}

/**
 * Opens the file on this thread (lock, checks, migration: {@link openDatabase}), reads every record row, oldest
 * first, and closes it again, for the writer thread to take over.
 */
export function readStoreRows(path: string): TaskRow[] {
  const db = openDatabase(path);
  try {
    return db
      .prepare<[], TaskRow>(
        'SELECT id, session_id, status, created_at, ended_at, finish_seq, data FROM tasks ORDER BY seq',
      )
      .all();
  } catch (error) {
    throw ioError(path, 'its records cannot be read', error);
  } finally {
    db.close();
  }
}

/** Throws, touching nothing, when a file exists at `path` and is not a SQLite database. */
function checkExistingFile(path: string): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory())
      throw new InvalidInputError('path', path, `names a folder, not a file: ${JSON.stringify(path)}`);
    size = stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (InvalidInputError.isInstance(error)) throw error;
    throw ioError(path, 'it cannot be inspected', error);
  }
  // An empty file is what SQLite itself treats as a new database.
  if (size === 0) return;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  let read = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      read = readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
    accessSync(path, constants.W_OK);
  } catch (error) {
    throw ioError(path, 'it cannot be read and written', error);
  }
  if (read < header.length || !header.equals(SQLITE_HEADER))
    throw notAStore(path, 'it is not a SQLite database');
}

/**
 * Takes the exclusive lock and reads the schema version, writing nothing: `BEGIN IMMEDIATE` fails with
 * SQLITE_BUSY when another connection holds the file, and a damaged file fails the schema read; either way
 * the transaction is rolled back before a byte is written.
 */
function lockAndReadVersion(db: BetterSqlite3.Database, path: string): number {
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    if (sqliteCode(error) === 'SQLITE_BUSY')
      throw new StoreLockedError(path, 'another-process', { cause: error });
    if (isDamage(error)) throw notAStore(path, `it is not a readable SQLite database (${messageOf(error)})`);
    throw error;
  }
  try {
    const state = readSchemaState(db);
    if (state.kind === 'foreign')
      throw notAStore(
        path,
        `it is a SQLite database with other tables (${state.tables.slice(0, 5).join(', ')})`,
      );
    if (state.kind === 'store' && state.version > SCHEMA_VERSION) {
      throw notAStore(
        path,
        `it was written by a newer errand (schema version ${state.version}; this one reads up to ${SCHEMA_VERSION})`,
      );
    }
    return state.kind === 'store' ? state.version : 0;
  } catch (error) {
    if (isDamage(error)) throw notAStore(path, `it is damaged (${messageOf(error)})`);
    throw error;
  } finally {
    // Commit of a transaction that wrote nothing: keeps the lock (exclusive locking mode), changes no byte.
    if (db.inTransaction) db.exec('COMMIT');
  }
}

/**
 * better-sqlite3 is installed but cannot load: usually a native module that was never built (pnpm 10 builds
 * it only when it is listed in onlyBuiltDependencies) or was built for another Node.
 */
function unloadable(cause: unknown): Error {
  return new Error(
    `better-sqlite3 is installed but cannot be loaded (${messageOf(cause)}): rebuild it for this Node (\`npm rebuild better-sqlite3\`; with pnpm 10, list it in onlyBuiltDependencies)`,
    { cause },
  );
}

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isDamage(error: unknown): boolean {
  const code = sqliteCode(error);
  return (
    code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code?.startsWith('SQLITE_CORRUPT_') === true
  );
}

function isOurError(error: unknown): boolean {
  return InvalidInputError.isInstance(error) || StoreLockedError.isInstance(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function notAStore(path: string, reason: string): InvalidInputError {
  return new InvalidInputError(
    'path',
    path,
    reason,
    `cannot open the task store ${JSON.stringify(path)}: ${reason}; the file was left untouched`,
  );
}

function ioError(path: string, reason: string, cause: unknown): Error {
  return new Error(`cannot open the task store ${JSON.stringify(path)}: ${reason}: ${messageOf(cause)}`, {
    cause,
  });
}
