import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';

type Task = Parameters<FairQueue['push']>[0];
const task = (sessionId: string, name: string) =>
  ({ name, [Piscina.queueOptionsSymbol]: { sessionId } }) as unknown as Task;
const names = (queue: FairQueue) => {
  const order: string[] = [];
  for (let next = queue.shift(); next; next = queue.shift())
    order.push((next as unknown as { name: string }).name);
  return order;
};

describe('FairQueue', () => {
  it('serves backlogged sessions in turn', () => {
    const queue = new FairQueue();
    for (const name of ['a1', 'a2', 'a3']) queue.push(task('a', name));
    for (const name of ['b1', 'b2']) queue.push(task('b', name));
    expect(queue.size).toBe(5);
    expect(names(queue)).toEqual(['b1', 'a1', 'b2', 'a2', 'a3']);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeNull();
  });

  it('serves a session that had nothing waiting next, ahead of a backlog', () => {
    const queue = new FairQueue();
    for (let index = 0; index < 1_000; index++) queue.push(task('flood', `f${index}`));
    queue.shift();
    queue.push(task('quiet', 'q1'));
    expect((queue.shift() as unknown as { name: string }).name).toBe('q1');
  });

  it('removes a cancelled task from the middle and forgets empty sessions', () => {
    const queue = new FairQueue();
    const removed = task('a', 'a2');
    queue.push(task('a', 'a1'));
    queue.push(removed);
    const lonely = task('b', 'b1');
    queue.push(lonely);
    queue.remove(removed);
    queue.remove(lonely);
    queue.remove(lonely);
    expect(queue.size).toBe(1);
    expect(names(queue)).toEqual(['a1']);
  });

  it('puts tasks without queue options in one shared lane', () => {
    const queue = new FairQueue();
    queue.push({ name: 'x' } as unknown as Task);
    queue.push({ name: 'y', [Piscina.queueOptionsSymbol]: null } as unknown as Task);
    expect(names(queue)).toEqual(['x', 'y']);
  });
});
