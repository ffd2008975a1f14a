import type {
  Checkpoint,
  SharedStoreBackend,
  SharedViewStore,
  TaskRecord,
  TaskRecordPatch,
} from '@errand/core/seams';
import type { OutputChunk } from '@errand/worker/protocol';
import type { Redis } from 'ioredis';
import type { Link } from '../link.js';
import { decodeFields, decodeRecord, encodeFields } from './record-codec.js';

/** A change notice on the queue's change channel: the record fields one writer applied. */
interface ChangeNotice {
  id: string;
  /** The writer's origin: a view skips its own. */
  o: string;
  /** Fields as written (JSON strings); absent for a new record (the view fetches it). */
  f?: Record<string, string>;
}

/**
 * The Redis task store, as the half that talks to Redis (core's `SharedViewStore` is the other half, the local
 * view that answers reads synchronously). Writes go out in order on the link's connection; every supervisor's
 * view is kept current from the change channel: a notice carries the fields written, so applying it costs no
 * round trip, and a record the view has not seen is fetched whole.
 *
 * What Redis keeps per task: its record (a hash), its latest checkpoint, its steering list and a capped output
 * stream; all expire `FINISHED_TTL_SECONDS` after the task ends.
 */
export class RedisStore implements SharedStoreBackend {
  readonly #link: Link;
  readonly #subscriber: Redis;
  readonly #view: SharedViewStore;
  readonly #onError: (error: Error) => void;

  private constructor(link: Link, subscriber: Redis, view: SharedViewStore, onError: (error: Error) => void) {
    this.#link = link;
    this.#subscriber = subscriber;
    this.#view = view;
    this.#onError = onError;
  }

  /**
   * Subscribes to the change channel, then loads every record Redis holds for the queue into the view and
   * attaches itself as the view's backend (replaying writes made meanwhile). Subscribing first means no change
   * falls between the load and the feed.
   */
  static async open(
    link: Link,
    subscriber: Redis,
    view: SharedViewStore,
    onError: (error: Error) => void,
  ): Promise<RedisStore> {
    const store = new RedisStore(link, subscriber, view, onError);
    subscriber.on('message', (_channel: string, message: string) => store.#onNotice(message));
    await subscriber.subscribe(link.keys.changes);
    await store.#load();
    view.attach(store);
    return store;
  }

  create(record: TaskRecord): void {
    const { client, keys, origin } = this.#link;
    client
      .multi()
      .hset(keys.task(record.id), encodeFields(record))
      .zadd(keys.tasks, record.createdAt, record.id)
      .publish(keys.changes, JSON.stringify({ id: record.id, o: origin } satisfies ChangeNotice))
      .exec()
      .catch(this.#onError);
  }

  update(id: string, patch: TaskRecordPatch): void {
    const record = this.#view.get(id);
    if (!record) return;
    const shared = sharedPart(patch);
    if (shared) this.#link.update(id, record.sessionId, shared).catch(this.#onError);
  }

  /**
   * Reads the task's output stream from its start on a connection of its own (`XREAD BLOCK` holds it), until the
   * task has ended and the stream has nothing more, or `signal` aborts. Lines the capped stream no longer holds
   * are not seen.
   */
  async follow(
    id: string,
    onChunks: (chunks: OutputChunk[]) => void,
    ended: () => boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const reader = this.#link.client.duplicate({ enableAutoPipelining: false });
    reader.on('error', () => {});
    const stop = () => reader.disconnect();
    signal.addEventListener('abort', stop, { once: true });
    let last = '0';
    try {
      while (!signal.aborted) {
        const done = ended();
        const reply = (await reader.xread(
          'COUNT',
          100,
          'BLOCK',
          done ? 1 : 200,
          'STREAMS',
          this.#link.keys.output(id),
          last,
        )) as Array<[string, Array<[string, string[]]>]> | null;
        const entries = reply?.[0]?.[1] ?? [];
        for (const [entryId, fields] of entries) {
          last = entryId;
          if (fields[1] !== undefined) onChunks(JSON.parse(fields[1]) as OutputChunk[]);
        }
        if (entries.length === 0 && done) return;
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      signal.removeEventListener('abort', stop);
      reader.disconnect();
    }
  }

  /** Nothing to write: the worker running the task keeps its checkpoints in Redis itself. */
  saveCheckpoint(_id: string, _checkpoint: Checkpoint): void {}

  async close(): Promise<void> {
    this.#subscriber.removeAllListeners('message');
  }

  async #load(): Promise<void> {
    const { client, keys } = this.#link;
    const ids = await client.zrange(keys.tasks, 0, -1);
    const gone: string[] = [];
    for (let start = 0; start < ids.length; start += 500) {
      const batch = ids.slice(start, start + 500);
      const pipeline = client.pipeline();
      for (const id of batch) pipeline.hgetall(keys.task(id));
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([error, fields], index) => {
        const id = batch[index]!;
        const record = error ? undefined : decodeRecord(fields as Record<string, string>);
        if (!record) {
          gone.push(id);
          return;
        }
        this.#view.applyRemote(id, { record });
        const iterations = (fields as Record<string, string>)._cp;
        if (iterations !== undefined) this.#view.noteCheckpoint(id, Number(iterations));
      });
    }
    // Records that expired leave their id in the index; drop them.
    if (gone.length > 0) await client.zrem(keys.tasks, ...gone);
  }

  #onNotice(message: string): void {
    let notice: ChangeNotice;
    try {
      notice = JSON.parse(message) as ChangeNotice;
    } catch {
      return;
    }
    if (notice.o === this.#link.origin) return;
    if (notice.f && this.#view.get(notice.id)) {
      // cjson turns an empty object into an empty array; a notice's fields are never empty.
      const fields = notice.f;
      this.#view.applyRemote(notice.id, { patch: decodeFields(fields) });
      if (fields._cp !== undefined) this.#view.noteCheckpoint(notice.id, Number(JSON.parse(fields._cp)));
      return;
    }
    this.#fetch(notice.id).catch(this.#onError);
  }

  async #fetch(id: string): Promise<void> {
    const fields = await this.#link.client.hgetall(this.#link.keys.task(id));
    const record = decodeRecord(fields);
    if (!record) return;
    this.#view.applyRemote(id, { record });
    if (fields._cp !== undefined) this.#view.noteCheckpoint(id, Number(fields._cp));
  }
}

/** What the worker running a task writes itself: its start and its progress. */
const WORKER_WRITES = new Set(['status', 'startedAt', 'transitions', 'iterations', 'lastText', 'usage']);

/**
 * The part of an engine's patch that Redis needs from this supervisor. The worker running the task writes its
 * start and progress itself (so they reach Redis once, and also when no supervisor is left); the supervisor
 * that delegated it adds what only it knows: steering counts, and at the end the output tail.
 */
function sharedPart(patch: TaskRecordPatch): TaskRecordPatch | undefined {
  if (patch.status !== undefined && patch.status !== 'running') return patch;
  const rest: Record<string, unknown> = {};
  let any = false;
  for (const [key, value] of Object.entries(patch)) {
    if (WORKER_WRITES.has(key)) continue;
    rest[key] = value;
    any = true;
  }
  return any ? (rest as TaskRecordPatch) : undefined;
}
