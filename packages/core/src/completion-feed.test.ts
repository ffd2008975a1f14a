import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
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

  it('resolves concurrent next() calls in order, one snapshot each', async () => {
    const feed = new CompletionFeed();
    const iterator = feed.subscribe('a');
    const pending = [iterator.next(), iterator.next(), iterator.next()];
    for (const goal of ['1', '2', '3']) feed.push(snapshot('a', goal));
    const results = await Promise.all(pending);
    expect(results.map((result) => result.value?.goal)).toEqual(['1', '2', '3']);
  });

  it('settles every pending next() as done at end() and at return()', async () => {
    const feed = new CompletionFeed();
    const ended = feed.subscribe('a');
    const returned = feed.subscribe('a');
    const atEnd = [ended.next(), ended.next(), ended.next()];
    const atReturn = [returned.next(), returned.next()];
    feed.push(snapshot('a', 'first'));
    await returned.return?.();
    expect((await Promise.all(atReturn)).map((result) => result.done)).toEqual([false, true]);
    feed.end();
    const results = await Promise.all(atEnd);
    expect(results.map((result) => result.done)).toEqual([false, true, true]);
    expect((await ended.next()).done).toBe(true);
  });

  it('touches only the ending task\u2019s session: subscribers are indexed per session', () => {
    const feed = new CompletionFeed();
    const others = Array.from({ length: 1_000 }, () => feed.subscribe('b'));
    const mine = feed.subscribe('a');
    const deref = vi.spyOn(WeakRef.prototype, 'deref');
    try {
      feed.push(snapshot('a', 'x'));
      expect(deref).toHaveBeenCalledTimes(1);
    } finally {
      deref.mockRestore();
    }
    expect(feed.sizeOf('a')).toBe(1);
    expect(feed.sizeOf('b')).toBe(others.length);
    void mine;
  });

  it('forgets iterators dropped while next() is pending, with what they buffered', async () => {
    const feed = new CompletionFeed();
    const kept = feed.subscribe('a');
    const keptNext = kept.next();
    (() => {
      for (let index = 0; index < 10_000; index++) {
        const dropped = feed.subscribe(index % 2 ? 'a' : 'b');
        void dropped.next();
        void dropped.next();
      }
    })();
    expect(feed.size).toBe(10_001);
    for (let attempt = 0; attempt < 50 && feed.size > 1; attempt++) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(feed.size).toBe(1);
    expect(feed.sizeOf('b')).toBe(0);
    feed.push(snapshot('a', 'kept'));
    expect((await keptNext).value?.goal).toBe('kept');
  });

  it('keeps a for-await loop that nothing else references alive until it ends', async () => {
    const feed = new CompletionFeed();
    const seen: string[] = [];
    let loopDone!: () => void;
    const finished = new Promise<void>((resolve) => {
      loopDone = resolve;
    });
    void (async () => {
      for await (const completed of feed.subscribe('a')) {
        seen.push(completed.goal);
        if (seen.length === 2) break;
      }
      loopDone();
    })();
    for (let attempt = 0; attempt < 5; attempt++) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(feed.size).toBe(1);
    feed.push(snapshot('a', '1'));
    feed.push(snapshot('a', '2'));
    await finished;
    expect(seen).toEqual(['1', '2']);
    expect(feed.size).toBe(0);
  });
});
