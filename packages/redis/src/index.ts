export { connectBullmq } from './connect.js';
export { Keys } from './keys.js';
export type { ErrandWorkerOptions } from './worker/errand-worker.js';
export { ErrandWorker } from './worker/errand-worker.js';
