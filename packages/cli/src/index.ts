export type { CliSettings } from './config.js';
export { demoModel, settingsFrom, supervisorOptions } from './config.js';
export type { DemoReport } from './demo.js';
export { runDemo } from './demo.js';
export type { DemoGoal, DemoPlan } from './demo-plan.js';
export { planDemo } from './demo-plan.js';
export type { RunOptions } from './run.js';
export { runGoal } from './run.js';
