import type { Redis } from 'ioredis';
import type { FeedEvent } from '../wire.js';

/**
 * Follows the queue's feed stream on its own connection (`XREAD BLOCK` holds it) and hands every event to
 * `onEvent`, in order. It remembers the last entry id it read, so after a dropped connection (ioredis
 * reconnects on its own) it goes on from there: nothing written meanwhile is missed while the stream still
 * holds it (`FEED_MAXLEN` entries).
 */
export class FeedReader {
  readonly #client: Redis;
  readonly #key: string;
  readonly #onEvent: (event: FeedEvent) => void;
  readonly #onError: (error: Error) => void;
  #lastId: string;
  #closed = false;
  readonly #done: Promise<void>;

  constructor(
    client: Redis,
    key: string,
    fromId: string,
    onEvent: (event: FeedEvent) => void,
    onError: (error: Error) => void,
  ) {
    this.#client = client;
    this.#key = key;
    this.#lastId = fromId;
    this.#onEvent = onEvent;
    this.#onError = onError;
    this.#done = this.#loop();
  }

  /** A stream id just before now, by the Redis server's clock: where a new reader starts. */
  static async now(client: Redis): Promise<string> {
    const [seconds, micros] = await client.time();
    return `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0`;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#client.disconnect();
    await this.#done;
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.#client.xread(
          'COUNT',
          1000,
          'BLOCK',
          1000,
          'STREAMS',
          this.#key,
          this.#lastId,
        )) as Array<[string, Array<[string, string[]]>]> | null;
      } catch (error) {
        if (this.#closed) return;
        this.#onError(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (!reply) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          this.#lastId = id;
          const data = fields[1];
          if (data === undefined) continue;
          try {
            this.#onEvent(JSON.parse(data) as FeedEvent);
          } catch (error) {
            this.#onError(error as Error);
          }
        }
      }
    }
  }
}
