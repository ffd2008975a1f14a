/**
 * The SQLite store's writer thread: it owns the store's one connection, so that a transaction, SQLite's WAL
 * checkpoints and their fsyncs never run on the host's event loop. The host keeps every record in memory and
 * hands over batches ready to write (rows serialised, checkpoints serialised by the agent's worker).
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { InvalidInputError, StoreLockedError } from '../errors.js';
import { openDatabase } from './sqlite-file.js';
import type {
  TaskRowValues,
  WireError,
  WriterCommand,
  WriterData,
  WriterEvent,
  WriterReply,
} from './writer-protocol.js';
import { GO, GO_OPEN } from './writer-protocol.js';

const UPSERT_TASK = `INSERT INTO tasks (id, session_id, status, created_at, ended_at, finish_seq, data)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, status = excluded.status,
    created_at = excluded.created_at, ended_at = excluded.ended_at, finish_seq = excluded.finish_seq,
    data = excluded.data`;
const UPSERT_CHECKPOINT = `INSERT INTO checkpoints (task_id, iterations, messages) VALUES (?, ?, ?)
  ON CONFLICT (task_id) DO UPDATE SET iterations = excluded.iterations, messages = excluded.messages`;

type Batch = Extract<WriterCommand, { type: 'batch' }>;

const { path, signal, replies } = workerData as WriterData;
const flag = new Int32Array(signal);
const port = parentPort;

function reply(message: WriterReply): void {
  replies.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

function post(event: WriterEvent): void {
  port?.postMessage(event);
}

// The host reads the records itself while this thread starts, then hands the file over: wait for its word.
Atomics.wait(flag, GO, 0);
let db: BetterSqlite3.Database | undefined;
if (Atomics.load(flag, GO) === GO_OPEN) {
  try {
    db = openDatabase(path);
    reply({ ok: true, value: null });
  } catch (error) {
    reply({ ok: false, error: toWire(error) });
  }
}

if (db && port) {
  const connection = db;
  // The file's identity at open: a batch written after it was deleted or replaced would reach no one.
  const inode = statSync(path).ino;
  const upsertTask = connection.prepare<TaskRowValues>(UPSERT_TASK);
  const upsertCheckpoint = connection.prepare<[string, number, string]>(UPSERT_CHECKPOINT);
  const deleteTask = connection.prepare<[string]>('DELETE FROM tasks WHERE id = ?');
  const deleteCheckpoint = connection.prepare<[string]>('DELETE FROM checkpoints WHERE task_id = ?');
  const readCheckpoint = connection.prepare<[string], { iterations: number; messages: string }>(
    'SELECT iterations, messages FROM checkpoints WHERE task_id = ?',
  );
  const write = connection.transaction((batch: Batch) => {
    for (const row of batch.rows) upsertTask.run(...row);
    for (const [id, iterations, messages] of batch.checkpoints)
      upsertCheckpoint.run(id, iterations, messages);
    for (const id of batch.deletes) {
      deleteTask.run(id);
      deleteCheckpoint.run(id);
    }
  });

  port.on('message', (command: WriterCommand) => {
    switch (command.type) {
      case 'batch':
        try {
          // SQLite keeps writing to the open file after it is unlinked (it has no way to notice with the lock
          // held), so a deleted or replaced file would swallow every batch in silence: one stat per batch says so.
          const now = statSync(path, { throwIfNoEntry: false });
          if (now?.ino !== inode) {
            throw new Error(
              `the store file ${JSON.stringify(path)} was ${now ? 'replaced' : 'deleted'} while open; nothing more can be saved until the store is reopened`,
            );
          }
          write(command);
          post({ type: 'done', seq: command.seq });
        } catch (error) {
          post({ type: 'done', seq: command.seq, error: toWire(error) });
        }
        return;
      case 'read':
        answer(() => readCheckpoint.get(command.id) ?? null);
        return;
      case 'probe':
        answer(() => {
          const probe = command.probe;
          if (probe.op === 'count')
            return (connection.prepare(`SELECT count(*) AS n FROM ${probe.table}`).get() as { n: number }).n;
          if (probe.op === 'drop-connection') connection.close();
          else
            connection.pragma(
              `max_page_count = ${probe.full ? connection.pragma('page_count', { simple: true }) : 1073741823}`,
            );
          return null;
        });
        return;
      case 'close': {
        let error: WireError | undefined;
        try {
          if (connection.open) connection.close();
        } catch (closeError) {
          error = toWire(closeError);
        }
        post(error ? { type: 'closed', error } : { type: 'closed' });
        port.close();
        return;
      }
    }
  });
}

function answer(read: () => unknown): void {
  try {
    reply({ ok: true, value: read() });
  } catch (error) {
    reply({ ok: false, error: toWire(error) });
  }
}

function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { message: String(error) };
  const wire: WireError = { message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') wire.code = code;
  if (InvalidInputError.isInstance(error)) {
    wire.kind = 'invalid_input';
    wire.field = error.field;
    wire.value = typeof error.value === 'string' ? error.value : undefined;
  } else if (StoreLockedError.isInstance(error)) {
    wire.kind = 'store_locked';
    wire.holder = error.holder;
    wire.path = error.path;
  }
  if (error.cause instanceof Error) wire.cause = error.cause.message;
  return wire;
}
