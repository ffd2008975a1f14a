/**
 * The Piscina task entry: runs one goal as an isolated agent loop and resolves with its outcome.
 *
 * Errors are returned as data, never thrown: Piscina carries only name, message and stack across threads, so
 * a thrown error would lose its code.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { runAgentLoop } from '../agent-loop.js';
import { CancelToken } from '../cancel-token.js';
import { LoopError, toWireError } from '../errors.js';
import { Inbox } from '../inbox.js';
import { loadModel } from '../load-model.js';
import { MemoryGuard } from '../memory-guard.js';
import { OutputStream } from '../output-stream.js';
import { CONTROL, HEARTBEAT_MS, type TaskOutcome, type TaskPayload } from '../protocol.js';
import { redact, registerSecretEnv } from '../redact.js';
import { loadToolsets } from '../toolset.js';

/**
 * Output streams of the tasks running in this thread. A tool that calls process.exit() ends the thread
 * mid-batch; flushing them from the 'exit' event keeps every line emitted before the crash (posting is
 * synchronous, so it lands before the thread is gone). One listener for the thread, however many tasks.
 */
const live = new Set<OutputStream>();
/**
 * The task whose code is running, however deep in its awaits and timers. Several tasks may share the thread
 * (`pool.agentsPerThread`): when one of them calls `process.exit`, the 'exit' listener runs inside that call,
 * so the store names the culprit, and the host moves the others to another thread instead of failing them.
 */
const running = new AsyncLocalStorage<OutputStream>();
/** Set when an error nobody caught is about to end the thread (the store is that of the code that threw). */
let uncaught = false;
process.on('uncaughtExceptionMonitor', () => {
  uncaught = true;
});
process.on('exit', (code) => {
  // Posted before the flushes below: the host reads the whole port when the thread is gone.
  const how = uncaught ? 'an uncaught error' : `process.exit(${typeof code === 'number' ? code : 0})`;
  running.getStore()?.post({ kind: 'exiting', how });
  // No waiting for the parent here: the thread is going away either way.
  for (const output of live) output.flush(false);
});

/**
 * Control blocks of the tasks running in this thread, whose `beat` slot one timer bumps: a thread that stops
 * yielding stops beating, which the host sees without any message getting through.
 */
const beating = new Set<Int32Array>();
let heart: NodeJS.Timeout | undefined;

function beat(): void {
  for (const control of beating) Atomics.add(control, CONTROL.beat, 1);
}

export default async function runTask(payload: TaskPayload): Promise<TaskOutcome> {
  const control = new Int32Array(payload.control);
  const output = new OutputStream(payload.port, payload.batchSize, payload.flushMs, {
    control,
    shared: payload.shared === true,
  });
  // Only shared threads beat: with one task per thread there are no co-tenants to move.
  if (payload.shared) {
    beating.add(control);
    heart ??= setInterval(beat, HEARTBEAT_MS).unref();
  }
  try {
    return await running.run(output, () => runInStore(payload, output));
  } finally {
    if (beating.delete(control) && beating.size === 0) {
      clearInterval(heart);
      heart = undefined;
    }
  }
}

async function runInStore(payload: TaskPayload, output: OutputStream): Promise<TaskOutcome> {
  const control = new Int32Array(payload.control);
  const token = new CancelToken(control);
  const memory = new MemoryGuard(payload.maxExternalBytes, (message) => {
    // The Buffers may be held anywhere (a tool's closure, a global): only ending the thread frees them for sure.
    output.post({ kind: 'fatal', message });
    output.flush(false);
    process.exit(1);
  });
  output.watch(memory);
  const inbox = new Inbox(payload.port, control, token);
  output.post({ kind: 'start', at: Date.now() });
  live.add(output);
  let bridge: import('../host-bridge.js').HostBridge | undefined;
  try {
    if (token.requested()) return stopped(token);
    // The variable apiKeyEnv names holds a key whatever it is called: known before the model can echo it.
    if (payload.model.provider === 'openai-compatible' && payload.model.apiKeyEnv)
      registerSecretEnv(payload.model.apiKeyEnv);
    // Loaded only by tasks with a bridge: it brings Comlink and zod, which a fresh thread need not load first.
    if (payload.bridge)
      bridge = new (await import('../host-bridge.js')).HostBridge(payload.bridge, token.signal);
    const [model, tools] = await Promise.all([
      loadModel(payload.model, bridge),
      loadToolsets(payload.toolsets),
    ]);
    for (const [name, tool] of bridge?.tools(payload.bridge!.tools) ?? []) {
      if (tools.has(name))
        throw new LoopError('tool_error', `host tool ${name} has the name of a toolset tool`);
      tools.set(name, tool);
    }
    const outcome = await runAgentLoop({
      taskId: payload.taskId,
      sessionId: payload.sessionId,
      goal: payload.goal,
      ...(payload.context === undefined ? {} : { context: payload.context }),
      model,
      tools,
      maxIterations: payload.maxIterations,
      maxToolResultChars: payload.maxToolResultChars,
      maxCheckpointChars: payload.maxCheckpointChars,
      ...(payload.resume === undefined ? {} : { resume: payload.resume }),
      token,
      inbox,
      output,
    });
    return outcome.result === undefined ? outcome : { ...outcome, result: redact(outcome.result) };
  } catch (error) {
    if (token.requested()) return stopped(token);
    const code = error instanceof LoopError ? error.code : 'model_error';
    return { status: 'failed', exitReason: 'error', iterations: 0, error: toWireError(code, error) };
  } finally {
    // The parent closes the port after draining it when the task settles; closing it here could drop
    // chunks that are still in flight.
    output.flush();
    inbox.close();
    memory.close();
    bridge?.close();
    live.delete(output);
  }
}

function stopped(token: CancelToken): TaskOutcome {
  const stop = token.error();
  const timedOut = stop.code === 'timeout';
  return {
    status: timedOut ? 'timed_out' : 'cancelled',
    exitReason: timedOut ? 'timeout' : 'cancelled',
    iterations: 0,
    error: toWireError(stop.code, stop),
  };
}
