import type { DelegationHost } from './delegation-ops.js';
import type { Engine } from './engine.js';
import { Session } from './session.js';

/** The delegation operations an orchestrator's tools call: the engine itself, in the parent's session. */
export function delegationHostFor(engine: Engine): DelegationHost {
  return {
    delegate: (parent, input) =>
      engine.delegate(
        parent.sessionId,
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
        parent,
      ),
    check: (parent, id, previewLines) => new Session(engine, parent.sessionId).check(id, { previewLines }),
    collect: (parent, id, timeoutMs) =>
      new Session(engine, parent.sessionId).collect(id, { timeoutMs, previewLines: 10 }),
    steer: (parent, id, text) => engine.steer(parent.sessionId, id, text),
    cancel: (parent, id, reason) =>
      new Session(engine, parent.sessionId).cancel(id, reason === undefined ? {} : { reason }),
    children: (parent) => [...parent.children].map((child) => child.snapshot(10)),
  };
}
