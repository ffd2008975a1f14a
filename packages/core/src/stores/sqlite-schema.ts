import type BetterSqlite3 from 'better-sqlite3';

/**
 * The SQLite store's schema, as a list of migrations applied in order from the first release on: migration
 * `i` takes a file from version `i` to `i + 1`. A released migration is never edited; a change is a new entry.
 *
 * Only what is queried has a column (id, session, status, times, and the order records finished in, which
 * retention follows); the rest of a record is one JSON document, so a new record field needs no migration.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: records and the latest checkpoint per task.
  // seq: creation order, the order records load in (a rowid alias, so loading needs no sort).
  `CREATE TABLE tasks (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     session_id TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     ended_at INTEGER,
     finish_seq INTEGER,
     data TEXT NOT NULL
   );
   CREATE INDEX tasks_by_session ON tasks (session_id, seq);
   CREATE INDEX tasks_by_status ON tasks (status);
   CREATE INDEX tasks_by_finish ON tasks (finish_seq) WHERE finish_seq IS NOT NULL;
   CREATE TABLE checkpoints (
     task_id TEXT PRIMARY KEY,
     iterations INTEGER NOT NULL,
     messages TEXT NOT NULL
   );`,
];

/** The version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** What a file holds, read without writing anything. */
export type SchemaState =
  | { kind: 'empty' }
  | { kind: 'store'; version: number }
  | { kind: 'foreign'; tables: string[] };

/** Reads what the file holds. Reads only: called before anything is written, inside the open's lock. */
export function readSchemaState(db: BetterSqlite3.Database): SchemaState {
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
      name: string;
    }>
  ).map((row) => row.name);
  if (tables.length === 0) return { kind: 'empty' };
  if (!tables.includes('schema_version')) return { kind: 'foreign', tables };
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: unknown } | undefined;
  const version = row?.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    return { kind: 'foreign', tables };
  return { kind: 'store', version };
}

/** Brings the file from `from` to {@link SCHEMA_VERSION}, all steps in one transaction. */
export function migrate(db: BetterSqlite3.Database, from: number): void {
  if (from >= SCHEMA_VERSION) return;
  db.transaction(() => {
    if (from === 0) db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
    for (let version = from; version < SCHEMA_VERSION; version += 1) db.exec(MIGRATIONS[version]!);
    db.prepare('DELETE FROM schema_version').run();
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  })();
}
