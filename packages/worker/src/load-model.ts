import { describeError, LoopError } from './errors.js';
import type { HostBridge } from './host-bridge.js';
import { importable } from './importable.js';
import type { CreateModel, Model } from './model.js';
import { createScriptedModel } from './models/scripted.js';
import type { ModelSpec } from './protocol.js';

/** Builds the task's model from its spec. Load failures are `model_error`. */
export async function loadModel(spec: ModelSpec, bridge?: HostBridge): Promise<Model> {
  if (spec.provider === 'scripted') return createScriptedModel(spec);
  if (spec.provider === 'openai-compatible') {
    // Loaded on demand: the SDK costs tens of milliseconds to load, and most tasks of a pool may not need it.
    const { createOpenAICompatibleModel } = await import('./models/openai-compatible.js');
    return createOpenAICompatibleModel(spec);
  }
  if (spec.provider === 'ai-sdk') {
    // Loaded on demand, like the openai SDK: `ai` and the provider package are optional peers.
    const { createAiSdkModel } = await import('./models/ai-sdk.js');
    return createAiSdkModel(spec);
  }
  if (spec.provider === 'host') {
    if (!bridge) throw new LoopError('model_error', `host model "${spec.name}" needs the host bridge`);
    return bridge.model(spec.name);
  }
  let loaded: { default?: unknown };
  try {
    loaded = (await import(importable(spec.specifier))) as { default?: unknown };
  } catch (error) {
    throw new LoopError('model_error', `cannot load model module ${spec.specifier}: ${describeError(error)}`);
  }
  if (typeof loaded.default !== 'function') {
    throw new LoopError('model_error', `model module ${spec.specifier} has no default export createModel()`);
  }
  const model = await (loaded.default as CreateModel)(spec.options);
  if (!model || typeof model.complete !== 'function') {
    throw new LoopError('model_error', `createModel() in ${spec.specifier} did not return { complete() }`);
  }
  return model;
}
