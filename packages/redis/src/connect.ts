import { randomUUID } from 'node:crypto';
import { type BullmqConnectInput, CONNECT_TIMEOUT_MS, type Executor } from '@errand/core/seams';
import { Queue } from 'bullmq';
import { closeClient, openClient, whenReady } from './connection.js';
import { BullmqExecutor } from './executors/bullmq-executor.js';
import { FeedReader } from './executors/feed-reader.js';
import { Keys } from './keys.js';
import { Link } from './link.js';
import { RedisStore } from './stores/redis-store.js';

/**
 * Connects a supervisor to its queue: three connections (commands and BullMQ's queue; the change channel; the
 * feed, which `XREAD BLOCK` holds), the store's first load into the view, and the feed from now on. Called by
 * `@errand/core` when `executor.kind` is `bullmq`; rejects with an `UnavailableError` naming the URL when Redis
 * does not answer within `CONNECT_TIMEOUT_MS`, leaving no connection open.
 */
export async function connectBullmq(input: BullmqConnectInput): Promise<Executor> {
  const { executor: option, endpoint, view, context } = input;
  const opened = ['commands', 'changes', 'feed'].map((role) =>
    openClient(option.connection, `errand-supervisor-${role}-${option.queue}`, {
      autoPipelining: role === 'commands',
    }),
  );
  const [command, subscriber, feed] = opened as [(typeof opened)[0], (typeof opened)[0], (typeof opened)[0]];
  try {
    await Promise.all(opened.map((client) => whenReady(client, endpoint, CONNECT_TIMEOUT_MS)));
  } catch (error) {
    for (const client of opened) client.client.disconnect();
    throw error;
  }
  const onError = (error: Error) => context.events.error(error);
  const keys = new Keys(option.queue);
  const link = new Link(command.client, keys, randomUUID());
  const queue = new Queue(option.queue, { connection: command.client });
  queue.on('error', onError);
  const release = async () => {
    await queue.close().catch(() => {});
    await closeClient(command.client);
    await closeClient(subscriber.client);
  };
  try {
    await RedisStore.open(link, subscriber.client, view, onError);
    const executor = new BullmqExecutor(context, link, queue, release);
    const from = await FeedReader.now(command.client);
    executor.follow(new FeedReader(feed.client, keys.feed, from, (event) => executor.onFeed(event), onError));
    return executor;
  } catch (error) {
    feed.client.disconnect();
    await release();
    throw error;
  }
}
