import type { ModelSpec } from '@errand/worker';

/** The GenAI attributes that name a task's model: what was asked for, and who serves it. */
export interface ModelAttributes {
  'gen_ai.request.model': string;
  'gen_ai.provider.name': string;
}

/**
 * `gen_ai.request.model` and `gen_ai.provider.name` for a model spec. Providers errand runs itself (scripted,
 * module, host) are named `errand.<provider>`; an AI SDK package by its own name (`@ai-sdk/anthropic` →
 * `anthropic`) or its factory; an OpenAI-compatible server by the protocol it speaks.
 */
export function modelAttributes(spec: ModelSpec): ModelAttributes {
  switch (spec.provider) {
    case 'openai-compatible':
      return { 'gen_ai.request.model': spec.model, 'gen_ai.provider.name': 'openai' };
    case 'ai-sdk':
      return { 'gen_ai.request.model': spec.model, 'gen_ai.provider.name': aiSdkProviderName(spec) };
    case 'host':
      return { 'gen_ai.request.model': spec.name, 'gen_ai.provider.name': 'errand.host' };
    case 'module':
      return { 'gen_ai.request.model': spec.specifier, 'gen_ai.provider.name': 'errand.module' };
    case 'scripted':
      return { 'gen_ai.request.model': 'scripted', 'gen_ai.provider.name': 'errand.scripted' };
  }
}

/** `@ai-sdk/anthropic` → `anthropic`; another package or a file by its factory (`createMistral` → `mistral`). */
function aiSdkProviderName(spec: { module: string; factory: string }): string {
  const name = /^@ai-sdk\/([\w.-]+)$/.exec(spec.module)?.[1];
  if (name) return name;
  const stem = spec.factory.replace(/^create/, '');
  return stem ? stem.charAt(0).toLowerCase() + stem.slice(1) : spec.factory;
}
