import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { CompletionFeed, MAX_PENDING_COMPLETIONS } from './completion-feed.js';
import type { TaskSnapshot } from './types.js';

const snapshot = (sessionId: string, goal: string) => ({ sessionId, goal }) as TaskSnapshot;

/** A full GC without starting the test process with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('CompletionFeed', () => {
  it('delivers to every iterator of the session only, and ends them on end()', async () => {
    const feed = new CompletionFeed();
    const mine = feed.subscribe('a');
    const other = feed.subscribe('b');
    feed.push(snapshot('a', '1'));
    feed.push(snapshot('b', '2'));
    feed.end();
    expect((await mine.next()).value?.goal).toBe('1');
    expect((await mine.next()).done).toBe(true);
    expect((await other.next()).value?.goal).toBe('2');
  });

  it('keeps at most MAX_PENDING_COMPLETIONS for a slow reader, dropping the oldest', async () => {
    const feed = new CompletionFeed();
    const iterator = feed.subscribe('a');
    for (let index = 0; index <= MAX_PENDING_COMPLETIONS; index++) feed.push(snapshot('a', `${index}`));
    expect((await iterator.next()).value?.goal).toBe('1');
    await iterator.return?.();
    expect(feed.size).toBe(0);
  });

  it('forgets an iterator that is dropped without return(), once it is garbage-collected', async () => {
    const feed = new CompletionFeed();
    const kept = feed.subscribe('a');
    (() => {
      feed.subscribe('a');
    })();
    expect(feed.size).toBe(2);
    // Finalizers run some time after a collection; give them a few turns.
    for (let attempt = 0; attempt < 50 && feed.size > 1; attempt++) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(feed.size).toBe(1);
    feed.push(snapshot('a', 'still delivered'));
    expect((await kept.next()).value?.goal).toBe('still delivered');
  });
});
