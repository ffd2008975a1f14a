/**
 * The host's end of a task's bridge: a Comlink endpoint on a second per-task port that serves host tools,
 * host-side models and, for orchestrators, the delegation operations. Opened only for tasks that need it.
 */
import { MessageChannel } from 'node:worker_threads';
import type { HostApi } from '@errand/worker';
import type { BridgeSpec } from '@errand/worker/protocol';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { type DelegationHost, delegationTools } from '../../delegation-ops.js';
import type { TaskRun } from '../../executor.js';
import { type HostTool, offerOf, runHostTool } from '../../host-tools.js';
import type { ResolvedOptions } from '../../options.js';

/** What the engine keeps of an open bridge. */
export interface BridgeHandle {
  spec: BridgeSpec;
  /** Aborts what the host is doing for the task and closes the port. Idempotent. */
  close(reason: string): void;
}

export function openBridge(
  run: TaskRun,
  options: ResolvedOptions,
  host: DelegationHost,
): BridgeHandle | undefined {
  const { limits } = options;
  const tools: Record<string, HostTool> = {};
  if (run.goal.hostTools) Object.assign(tools, options.hostTools);
  // Leave the worker a second to hear back before its own call timeout fires.
  if (run.goal.role === 'orchestrator')
    Object.assign(tools, delegationTools(host, run.taskId, Math.max(0, limits.hostCallTimeoutMs - 1_000)));
  const model = run.goal.model;
  if (Object.keys(tools).length === 0 && model.provider !== 'host') return undefined;

  const { port1, port2 } = new MessageChannel();
  const abort = new AbortController();
  const context = { signal: abort.signal, taskId: run.taskId, sessionId: run.sessionId };
  const api: HostApi = {
    callTool: (name, args) => {
      const tool = Object.hasOwn(tools, name) ? tools[name] : undefined;
      if (!tool) return Promise.reject(new Error(`no host tool "${name}" for this task`));
      return untilAborted(runHostTool(tool, args, context), abort.signal);
    },
    complete: (name, request) => {
      const hostModel = options.hostModels[name];
      if (!hostModel) return Promise.reject(new Error(`no host model "${name}"`));
      return untilAborted(hostModel({ ...request, ...context }), abort.signal);
    },
  };
  Comlink.expose(api, nodeEndpoint(port1 as never));
  return {
    spec: {
      port: port2,
      tools: Object.entries(tools).map(([name, tool]) => offerOf(name, tool.description, tool.input)),
      timeoutMs: limits.hostCallTimeoutMs,
    },
    close(reason) {
      if (!abort.signal.aborted) abort.abort(new Error(reason));
      port1.close();
    },
  };
}

/** Rejects with the signal's reason once it aborts, so no host call outlives its task. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
