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

let entry: Promise<RunTask> | undefined;

module.exports = function runTask(payload: unknown): Promise<unknown> {
  entry ??= import('./run-task.js').then((loaded) => loaded.default as RunTask);
  return entry.then((run) => run(payload));
};
