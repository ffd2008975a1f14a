import type { ModelSpec, ToolsetSpec } from '@errand/worker';
import { z } from 'zod';
import { describeValue, InvalidInputError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { DelegateInput } from './types.js';
import { parseOrThrow } from './validation.js';

/** A validated goal, with defaults applied. */
export interface ValidGoal {
  goal: string;
  context?: string;
  toolsets: Record<string, ToolsetSpec>;
  /** Whether the goal may use the supervisor's host tools (the `host` toolset). */
  hostTools: boolean;
  role: 'orchestrator' | 'worker';
  /** The profile name, if one was chosen, and the spec the worker will build. */
  modelName?: string;
  model: ModelSpec;
  maxIterations: number;
  timeoutMs: number;
  metadata?: Record<string, unknown>;
  /**
   * Set when the input named no toolsets, so the goal gets the default set. With the bullmq executor the
   * worker that runs the goal resolves that default (and every name) from its own config.
   */
  defaultToolsets?: true;
}

const inputSchema = z
  .object({
    goal: z.string(),
    context: z.string().optional(),
    model: z.string().optional(),
    role: z.enum(['orchestrator', 'worker']).optional(),
    toolsets: z.array(z.string()).optional(),
    maxIterations: z.number().int().positive().optional(),
    timeoutMs: z.number().int().positive().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

/** Validates `delegate` input where it enters; the rest of the engine trusts it. */
export function validateGoal(input: DelegateInput, options: ResolvedOptions): ValidGoal {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new InvalidInputError('input', input, `must be an object, got ${describeValue(input)}`);
  const data = parseOrThrow(inputSchema, input);
  const { limits } = options;
  if (data.goal.trim() === '') throw new InvalidInputError('goal', data.goal, 'must not be blank');
  if (data.goal.length > limits.maxGoalChars) {
    throw new InvalidInputError(
      'goal',
      `${data.goal.length} characters`,
      `is ${data.goal.length} characters; the limit is ${limits.maxGoalChars}`,
    );
  }
  if (data.context !== undefined && data.context.length > limits.maxContextChars) {
    throw new InvalidInputError(
      'context',
      `${data.context.length} characters`,
      `is ${data.context.length} characters; the limit is ${limits.maxContextChars}`,
    );
  }
  if (data.maxIterations !== undefined && data.maxIterations > limits.maxIterations) {
    throw new InvalidInputError(
      'maxIterations',
      data.maxIterations,
      `must be at most ${limits.maxIterations}, got ${data.maxIterations}`,
    );
  }
  if (data.timeoutMs !== undefined && data.timeoutMs > limits.maxTimeoutMs) {
    throw new InvalidInputError(
      'timeoutMs',
      data.timeoutMs,
      `must be at most ${limits.maxTimeoutMs}, got ${data.timeoutMs}`,
    );
  }
  // With the bullmq executor, profiles and toolsets live in the workers' config: names the supervisor does not
  // know travel as names, and the worker that takes the goal refuses one it does not know (`invalid_input`).
  const remote = options.executor.kind === 'bullmq';
  let model = options.model;
  if (data.model !== undefined) {
    const profile = Object.hasOwn(options.models, data.model) ? options.models[data.model] : undefined;
    if (profile === undefined && !remote) {
      const allowed = Object.keys(options.models).join(', ') || 'none';
      throw new InvalidInputError(
        'model',
        data.model,
        `names an unknown model profile "${data.model.slice(0, 64)}"; allowed: ${allowed}`,
      );
    }
    if (profile) model = profile;
  }
  const toolsets: Record<string, ToolsetSpec> = {};
  const hasHostTools = Object.keys(options.hostTools).length > 0;
  let hostTools = data.toolsets === undefined && hasHostTools;
  for (const name of data.toolsets ?? Object.keys(options.toolsets)) {
    if (name === 'host' && hasHostTools) {
      hostTools = true;
      continue;
    }
    let specifier = Object.hasOwn(options.toolsets, name) ? options.toolsets[name] : undefined;
    if (specifier === undefined && remote && /^[a-zA-Z0-9_-]{1,64}$/.test(name))
      specifier = { specifier: `worker:${name}` };
    if (specifier === undefined) {
      const allowed =
        [...Object.keys(options.toolsets), ...(hasHostTools ? ['host'] : [])].join(', ') || 'none';
      throw new InvalidInputError(
        'toolsets',
        name,
        `names an unknown toolset "${name.slice(0, 64)}"; allowed: ${allowed}`,
      );
    }
    toolsets[name] = specifier;
  }
  if (data.metadata !== undefined) {
    let json: string | undefined;
    try {
      json = JSON.stringify(data.metadata);
    } catch {
      throw new InvalidInputError('metadata', data.metadata, 'must be JSON-serialisable');
    }
    if (json !== undefined && json.length > limits.maxMetadataChars) {
      throw new InvalidInputError(
        'metadata',
        `${json.length} JSON characters`,
        `is ${json.length} JSON characters; the limit is ${limits.maxMetadataChars}`,
      );
    }
  }
  const valid: ValidGoal = {
    goal: data.goal,
    toolsets,
    hostTools,
    role: data.role ?? 'worker',
    model,
    maxIterations: data.maxIterations ?? limits.defaultMaxIterations,
    timeoutMs: data.timeoutMs ?? limits.defaultTimeoutMs,
  };
  if (data.context !== undefined) valid.context = data.context;
  if (remote && data.toolsets === undefined) valid.defaultToolsets = true;
  if (data.model !== undefined) valid.modelName = data.model;
  // A structured clone detaches the host's object, so later mutations by the host do not leak into snapshots.
  if (data.metadata !== undefined) valid.metadata = structuredClone(data.metadata);
  return valid;
}
