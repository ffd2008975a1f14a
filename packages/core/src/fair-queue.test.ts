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
    expect(drain(fair)).toEqual(['b1', 'a1', 'b2', 'a2', 'a3']);
    expect(fair.size).toBe(0);
    expect(fair.shift()).toBeUndefined();
  });

  it('serves a session that had nothing waiting next, ahead of a backlog', () => {
    const fair = queue();
    for (let index = 0; index < 1_000; index++) fair.push(item('flood', `f${index}`));
    fair.shift();
    fair.push(item('quiet', 'q1'));
    expect(fair.shift()?.name).toBe('q1');
    expect(fair.shift()?.name).toBe('f1');
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
