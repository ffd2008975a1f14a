/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts, so a model or tool that
 * ignores its signal cannot keep a cancelled task alive.
 *
 * `promise` always gets a rejection handler, also when the signal is already aborted: a tool that calls
 * `ctx.checkpoint()` after a cancel rejects *after* this has given up on it, and an unhandled rejection ends
 * the worker thread (the next task on that thread would then fail with `worker_crashed`).
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.then(undefined, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
