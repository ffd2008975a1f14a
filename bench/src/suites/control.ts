import {
  percentile,
  quick,
  type Result,
  ROUNDS_PER_MS,
  scriptedSupervisor,
  sleep,
  steerThenCancel,
} from '../harness.js';

/** steer → steer_ack and cancel → terminal for an agent in a checkpointing CPU tool; hard cancel of one that never checkpoints. */
export async function control(): Promise<Result[]> {
  const rounds = quick ? 5 : 20;
  const grace = 200;
  const supervisor = scriptedSupervisor(
    [{ toolCalls: [{ name: 'burn', arguments: { rounds: 60_000 * ROUNDS_PER_MS } }] }],
    {
      models: {
        hang: { provider: 'scripted', turns: [{ toolCalls: [{ name: 'hang' }] }] },
        ok: { provider: 'scripted', turns: [{ text: 'ok' }] },
      },
      limits: { cancelGraceMs: grace },
      pool: { maxThreads: 2, minThreads: 2 },
    },
  );
  const session = supervisor.session('control');
  const steer: number[] = [];
  const cancel: number[] = [];
  const hard: number[] = [];
  let replaced = true;
  for (let round = 0; round < rounds; round++) {
    const id = session.delegate({ goal: 'burn', toolsets: ['bench'] });
    for await (const line of session.stream(id)) if (line.text.startsWith('→ burn')) break;
    await sleep(5);
    const { steerMs, cancelMs } = await steerThenCancel(supervisor, session, id);
    steer.push(steerMs);
    cancel.push(cancelMs);
  }
  for (let round = 0; round < Math.max(2, rounds / 4); round++) {
    const id = session.delegate({ goal: 'hang', model: 'hang', toolsets: ['bench'] });
    for await (const line of session.stream(id)) if (line.text.startsWith('→ hang')) break;
    const before = performance.now();
    await session.cancel(id);
    hard.push(performance.now() - before);
    const after = session.delegate({ goal: 'after', model: 'ok' });
    replaced &&= (await session.collect(after, { timeoutMs: 5_000 })).status === 'completed';
  }
  await supervisor.close();
  return [
    {
      suite: 'control',
      metric: 'steer → steer_ack p50',
      value: percentile(steer, 50),
      unit: 'ms',
      target: '≤ 2 ms',
      met: percentile(steer, 50) <= 2,
    },
    {
      suite: 'control',
      metric: 'cooperative cancel → terminal p50',
      value: percentile(cancel, 50),
      unit: 'ms',
      target: '≤ 2 ms',
      met: percentile(cancel, 50) <= 2,
    },
    {
      suite: 'control',
      metric: `hard cancel (grace ${grace} ms) → terminal, max`,
      value: Math.max(...hard),
      unit: 'ms',
      target: `≤ ${grace + 100} ms, worker replaced`,
      met: Math.max(...hard) <= grace + 100 && replaced,
    },
  ];
}
