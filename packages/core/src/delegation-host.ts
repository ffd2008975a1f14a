import type { DelegationHost } from './delegation-ops.js';
import type { Engine } from './engine.js';
import { NotFoundError } from './errors.js';
import { Session } from './session.js';
import { summaryOf } from './snapshot.js';

/**
 * The delegation operations an orchestrator's tools call: the engine itself, in the parent's session, one
 * level deeper. The parent is named by id; the engine refuses a parent that is stopping or finished, so a
 * call still in flight when its parent is cancelled cannot leave an orphan behind.
 */
export function delegationHostFor(engine: Engine): DelegationHost {
  return {
    get limits() {
      return engine.options.limits;
    },
    targetFor(parentId) {
      // Resolved per call: a session view holds no state, and the parent may be looked up after it ended.
      const session = () => new Session(engine, engine.sessionOf(parentId));
      return {
        delegate: (input) => engine.delegate(engine.sessionOf(parentId), input, parentId),
        check: (id, options) => session().check(id, options),
        collect: (id, options) => session().collect(id, options),
        steer: (id, text) => session().steer(id, text),
        cancel: (id, options) => session().cancel(id, options),
        list: () => engine.children(parentId).map((view) => summaryOf(view.record, view.live)),
        // Only the parent's own children: resuming any other task of the session would start it outside the
        // parent's tree, at a depth the parent's limits never allowed.
        resume: (id, options) => {
          const sessionId = engine.sessionOf(parentId);
          if (engine.view(sessionId, id).record.parentId !== parentId) throw new NotFoundError(id);
          return engine.resume(sessionId, id, options);
        },
      };
    },
  };
}
