import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';

interface Item {
  session: string;
  name: string;
}
const item = (session: string, name: string): Item => ({ session, name });
const drain = (queue: FairQueue<Item>) => {
  const order: string[] = [];
  for (let next = queue.shift(); next; next = queue.shift()) order.push(next.name);
  return order;
};
const queue = () => new FairQueue<Item>((entry) => entry.session);

describe('FairQueue', () => {
  it('serves backlogged sessions in turn', () => {
    const fair = queue();
    for (const name of ['a1', 'a2', 'a3']) fair.push(item('a', name));
    for (const name of ['b1', 'b2']) fair.push(item('b', name));
    expect(fair.size).toBe(5);
    expect(drain(fair)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
    expect(fair.size).toBe(0);
    expect(fair.shift()).toBeUndefined();
  });

  it('serves a session that had nothing waiting within one turn of each waiting session', () => {
    const fair = queue();
    for (let index = 0; index < 1_000; index++) fair.push(item('flood', `f${index}`));
    fair.shift();
    fair.push(item('quiet', 'q1'));
    expect(fair.shift()?.name).toBe('f1');
    expect(fair.shift()?.name).toBe('q1');
    expect(fair.shift()?.name).toBe('f2');
  });

  it('puts new keys at the back, so a stream of fresh sessions cannot overtake a waiting one', () => {
    const fair = queue();
    fair.push(item('victim', 'v1'));
    const served: string[] = [];
    // Each round a fresh session arrives with one task, then one task is served (maxThreads 1).
    for (let round = 0; round < 45; round++) {
      fair.push(item(`fresh${round}`, `n${round}`));
      served.push(fair.shift()!.name);
    }
    expect(served[0]).toBe('v1');
    // Round-robin by when keys started waiting: everyone is served in arrival order.
    expect(served).toEqual(['v1', ...Array.from({ length: 44 }, (_, index) => `n${index}`)]);
    expect(fair.sizeOf('fresh44')).toBe(1);
    expect(fair.sizeOf('victim')).toBe(0);
  });

  it('removes a cancelled item from the middle and forgets empty sessions', () => {
    const fair = queue();
    const removed = item('a', 'a2');
    const lonely = item('b', 'b1');
    fair.push(item('a', 'a1'));
    fair.push(removed);
    fair.push(lonely);
    expect(fair.remove(removed)).toBe(true);
    expect(fair.remove(lonely)).toBe(true);
    expect(fair.remove(lonely)).toBe(false);
    expect(fair.size).toBe(1);
    expect(drain(fair)).toEqual(['a1']);
  });
});
