import type { Checkpoint, TaskEnd } from '@errand/core/seams';
import type { OutputChunk, Progress } from '@errand/worker/protocol';
import { FEED_MAXLEN, FINISHED_TTL_SECONDS, OUTPUT_MAXLEN } from '../keys.js';
import type { Link } from '../link.js';
import type { FeedEvent } from '../wire.js';

/**
 * What a worker writes to Redis about the runs it has: every event on the feed stream (for the supervisor that
 * delegated the task), the output also into the task's capped stream, checkpoints under the task's key, and
 * the record's start and end itself, so a task whose supervisor is gone still ends in the shared store. All on
 * one connection, so Redis sees them in the order they happened.
 */
export class RunReporter {
  readonly #link: Link;
  readonly #maxResultChars: number;
  readonly #onError: (error: Error) => void;

  constructor(link: Link, maxResultChars: number, onError: (error: Error) => void) {
    this.#link = link;
    this.#maxResultChars = maxResultChars;
    this.#onError = onError;
  }

  started(id: string, sessionId: string): void {
    const at = Date.now();
    this.#feed({ t: 'start', id });
    this.#link
      .update(id, sessionId, { status: 'running', startedAt: at }, { append: { status: 'running', at } })
      .catch(this.#onError);
  }

  output(
    id: string,
    sessionId: string,
    chunks: readonly OutputChunk[],
    progress: Progress | undefined,
  ): void {
    const event: FeedEvent = { t: 'output', id, chunks: [...chunks] };
    if (progress) event.progress = progress;
    this.#feed(event);
    const { client, keys } = this.#link;
    if (chunks.length > 0) {
      client
        .xadd(keys.output(id), 'MAXLEN', '~', OUTPUT_MAXLEN, '*', 'c', JSON.stringify(chunks))
        .catch(this.#onError);
    }
    if (progress) {
      const patch: Parameters<Link['update']>[2] = { iterations: progress.iterations };
      if (progress.lastText !== undefined) patch.lastText = progress.lastText.slice(0, this.#maxResultChars);
      if (progress.usage) patch.usage = progress.usage;
      this.#link.update(id, sessionId, patch).catch(this.#onError);
    }
  }

  checkpoint(id: string, sessionId: string, checkpoint: Checkpoint): void {
    const { client, keys } = this.#link;
    client
      .set(keys.checkpoint(id), JSON.stringify(checkpoint), 'EX', FINISHED_TTL_SECONDS)
      .catch(this.#onError);
    this.#link
      .update(id, sessionId, {}, { checkpointIterations: checkpoint.iterations })
      .catch(this.#onError);
    this.#feed({ t: 'checkpoint', id, iterations: checkpoint.iterations });
  }

  /** The run's end: on the feed, and into the record unless the supervisor wrote it first. */
  settled(id: string, sessionId: string, end: TaskEnd): void {
    this.#feed({ t: 'settle', id, end });
    const at = Date.now();
    const patch: Parameters<Link['update']>[2] = {
      status: end.status,
      endedAt: at,
      exitReason: end.exitReason,
    };
    if (end.result !== undefined) patch.result = end.result.slice(0, this.#maxResultChars);
    if (end.error) patch.error = end.error;
    if (end.iterations !== undefined) patch.iterations = end.iterations;
    if (end.usage) patch.usage = end.usage;
    this.#link.update(id, sessionId, patch, { append: { status: end.status, at } }).catch(this.#onError);
  }

  #feed(event: FeedEvent): void {
    const { client, keys } = this.#link;
    client.xadd(keys.feed, 'MAXLEN', '~', FEED_MAXLEN, '*', 'd', JSON.stringify(event)).catch(this.#onError);
  }
}
