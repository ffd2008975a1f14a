import type { ResolvedOptions, ValidGoal } from '@errand/core/seams';

export type { ResolvedOptions, ValidGoal };
/** One toolset as the worker loads it. */
export type ToolsetSpecOf = ValidGoal['toolsets'][string];
