export type { CliSettings } from './config.js';
export { demoModel, settingsFrom, supervisorOptions } from './config.js';
export type { DemoReport } from './demo.js';
export { DEMO_GOALS, runDemo } from './demo.js';
export type { RunOptions } from './run.js';
export { runGoal } from './run.js';
