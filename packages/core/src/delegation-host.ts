import type { DelegationHost } from './delegation-ops.js';
import type { Engine } from './engine.js';
import { Session } from './session.js';

/**
 * The delegation operations an orchestrator's tools call: the engine itself, in the parent's session, one
 * level deeper. The parent is named by id; the engine refuses a parent that is stopping or finished, so a
 * call still in flight when its parent is cancelled cannot leave an orphan behind.
 */
export function delegationHostFor(engine: Engine): DelegationHost {
  const sessionOf = (parentId: string) => new Session(engine, engine.sessionOf(parentId));
  return {
    delegate: (parentId, input) =>
      engine.delegate(
        engine.sessionOf(parentId),
        {
          goal: input.goal as string,
          ...(input.context === undefined ? {} : { context: input.context as string }),
          ...(input.toolsets === undefined ? {} : { toolsets: input.toolsets as string[] }),
          ...(input.model === undefined ? {} : { model: input.model as string }),
          ...(input.role === undefined ? {} : { role: input.role as 'orchestrator' | 'worker' }),
          ...(input.max_iterations === undefined ? {} : { maxIterations: input.max_iterations as number }),
          ...(input.timeout_seconds === undefined
            ? {}
            : { timeoutMs: Math.round((input.timeout_seconds as number) * 1000) }),
        },
        parentId,
      ),
    check: (parentId, id, previewLines) => sessionOf(parentId).check(id, { previewLines }),
    collect: (parentId, id, timeoutMs) => sessionOf(parentId).collect(id, { timeoutMs, previewLines: 10 }),
    steer: (parentId, id, text) => sessionOf(parentId).steer(id, text),
    cancel: (parentId, id, reason) => sessionOf(parentId).cancel(id, reason === undefined ? {} : { reason }),
    children: (parentId) => engine.children(parentId).map((view) => engine.snapshot(view, 10)),
  };
}
