/**
 * The file Piscina loads in each worker: CommonJS on purpose.
 *
 * Piscina first `require()`s its worker file. On Node 20.19+ requiring an ES module takes Node's
 * synchronous require(esm) path, and a worker terminated while that path instantiates the module graph
 * (a hard cancel of a task that has just been handed to a fresh thread, or `close()` during a respawn)
 * aborts the whole process with "FATAL ERROR: v8::Module::IsGraphAsync must be used on an instantiated
 * module" (seen in the soak test). Loading the real entry with `import()` from this small CommonJS file
 * keeps module loading on the asynchronous path, which termination interrupts safely.
 */
type RunTask = (payload: unknown) => Promise<unknown>;

// Started as soon as Piscina loads this file (it does so when the thread starts), so a fresh thread is warm
// by the time its first task arrives.
const entry: Promise<RunTask> = import('./run-task.js').then((loaded) => loaded.default as RunTask);
// A failed load is reported by the task that awaits it; this keeps it from also being an unhandled rejection.
entry.catch(() => {});

module.exports = function runTask(payload: unknown): Promise<unknown> {
  return entry.then((run) => run(payload));
};
