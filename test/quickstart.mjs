// quickstart.mjs: run it from a package that depends on @errand/core (e.g. `node test/quickstart.mjs` here).
import { Supervisor } from '@errand/core';

const supervisor = new Supervisor({
  // A deterministic, offline model. See "Real models" below for OpenAI-compatible servers.
  model: {
    provider: 'scripted',
    turns: [{ text: 'Summary: three modules, no cycles.', delayMs: 200 }],
  },
  limits: { cancelGraceMs: 2_000 },
  pool: { maxThreads: 8 },
});
supervisor.on('task-end', (snapshot) => console.log(`[${snapshot.status}] ${snapshot.goal}`));

const session = supervisor.session('user-42'); // sessions never see each other's tasks
const id = session.delegate({ goal: 'summarise the architecture', maxIterations: 5, timeoutMs: 60_000 });
const other = session.delegate({ goal: 'something we will change our mind about' });

console.log(session.check(id, { previewLines: 10 }).status); // 'queued' or 'running': delegate never waits
session.steer(id, 'focus on the tests first'); // { taskId, seq: 1, status: 'queued' }
await session.cancel(other, { reason: 'not needed' }); // snapshot with status 'cancelled'

const done = await session.collect(id, { timeoutMs: 300_000 });
console.log(done.status, done.iterations, done.steering, JSON.stringify(done.result));
console.log(session.list().map((task) => `${task.status} ${task.goal}`));
await supervisor.close(); // cancels what still runs, ends the pool, leaves no handles
