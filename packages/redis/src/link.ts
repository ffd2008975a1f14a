import type { TaskRecordPatch } from '@errand/core/seams';
import type { Redis } from 'ioredis';
import { FEED_MAXLEN, FINISHED_TTL_SECONDS, type Keys, OUTPUT_MAXLEN } from './keys.js';
import { ADMIT, UPDATE } from './scripts.js';
import { encodeFields } from './stores/record-codec.js';

/** Extra fields a worker writes with a record patch: one transition to append to the record's list. */
export interface UpdateExtras {
  append?: { status: string; at: number };
  /** The task now has a checkpoint in Redis after this many iterations. */
  checkpointIterations?: number;
  /** A worker's event for the feed stream, written in the same step. */
  feed?: string;
  /** Output chunks (JSON) for the task's capped stream, written in the same step. */
  output?: string;
}

type ScriptClient = Redis & {
  errandAdmit(...args: Array<string | number>): Promise<[string, number]>;
  errandUpdate(...args: Array<string | number>): Promise<number>;
};

/**
 * One connection's view of a queue's keys and scripts: what the store, the executor and the worker share.
 * Commands on one client run in the order they were sent, so a record written before its job is added is
 * there when a worker takes the job.
 */
export class Link {
  readonly client: ScriptClient;
  readonly keys: Keys;
  /** Who writes, so a view can skip the change notices of its own writes. */
  readonly origin: string;

  constructor(client: Redis, keys: Keys, origin: string) {
    client.defineCommand('errandAdmit', { numberOfKeys: 4, lua: ADMIT });
    client.defineCommand('errandUpdate', { numberOfKeys: 10, lua: UPDATE });
    this.client = client as ScriptClient;
    this.keys = keys;
    this.origin = origin;
  }

  /** Applies a record patch atomically (see `UPDATE`). */
  update(id: string, sessionId: string, patch: TaskRecordPatch, extras: UpdateExtras = {}): Promise<number> {
    const fields = encodeFields(patch);
    if (extras.append) fields._append = JSON.stringify(extras.append);
    if (extras.checkpointIterations !== undefined) fields._cp = String(extras.checkpointIterations);
    const { keys } = this;
    return this.client.errandUpdate(
      keys.task(id),
      keys.queued,
      keys.sessionQueued(sessionId),
      keys.sessionUnfinished(sessionId),
      keys.checkpoint(id),
      keys.steer(id),
      keys.output(id),
      keys.stop(id),
      keys.handback(id),
      keys.feed,
      JSON.stringify(fields),
      keys.changes,
      this.origin,
      FINISHED_TTL_SECONDS,
      id,
      extras.feed ?? '',
      extras.output ?? '',
      FEED_MAXLEN,
      OUTPUT_MAXLEN,
    );
  }

  /** Counts a task in against the cluster-wide limits (see `ADMIT`). */
  async admit(
    id: string,
    sessionId: string,
    maxTasksPerSession: number,
    maxQueued: number,
  ): Promise<{ ok: true; place: number } | { ok: false; refused: string; count: number }> {
    const { keys } = this;
    const [verdict, count] = await this.client.errandAdmit(
      keys.task(id),
      keys.queued,
      keys.sessionQueued(sessionId),
      keys.sessionUnfinished(sessionId),
      maxTasksPerSession,
      maxQueued,
    );
    return verdict === 'ok' ? { ok: true, place: count } : { ok: false, refused: verdict, count };
  }
}
