import type { JobGoal } from '../wire.js';
import type { ResolvedOptions, ToolsetSpecOf, ValidGoal } from './types.js';

/**
 * Resolves a job's goal against this worker's config: toolset names to this worker's modules, the profile
 * name to its model spec. The config is the allow-list, exactly as on one machine: a name it does not have
 * refuses the goal (the task ends `invalid_input` with the returned message).
 */
export function resolveJobGoal(
  goal: JobGoal,
  options: ResolvedOptions,
): { goal: ValidGoal } | { refused: string } {
  const allowed = Object.keys(options.toolsets);
  const names = goal.defaultToolsets ? allowed : goal.toolsets;
  const toolsets: Record<string, ToolsetSpecOf> = {};
  for (const name of names) {
    const spec = Object.hasOwn(options.toolsets, name) ? options.toolsets[name] : undefined;
    if (!spec) {
      return {
        refused: `toolsets names "${name.slice(0, 64)}", which this worker's config does not allow; allowed: ${allowed.join(', ') || 'none'}`,
      };
    }
    toolsets[name] = spec;
  }
  let model = options.model;
  if (goal.modelName !== undefined) {
    const profile = Object.hasOwn(options.models, goal.modelName)
      ? options.models[goal.modelName]
      : undefined;
    if (!profile) {
      const profiles = Object.keys(options.models).join(', ') || 'none';
      return {
        refused: `model names the profile "${goal.modelName.slice(0, 64)}", which this worker's config does not have; profiles: ${profiles}`,
      };
    }
    model = profile;
  }
  if (goal.role === 'orchestrator') {
    return {
      refused: 'role "orchestrator" cannot run on a bullmq worker: nested delegation needs the supervisor',
    };
  }
  if (model.provider === 'host') {
    return { refused: 'a "host" model runs on the supervisor, not on a bullmq worker' };
  }
  const { toolsets: _names, ...rest } = goal;
  // Host tools live on the supervisor's main thread: they do not cross machines.
  return { goal: { ...rest, toolsets, model, hostTools: false } };
}
