import { setTimeout as sleep } from 'node:timers/promises';
import { LoopError } from '../errors.js';
import type { Model, ModelResponse } from '../model.js';
import type { ScriptedModelSpec } from '../protocol.js';

/**
 * Plays back plain-data turns in order. Deterministic, so tests and the offline demo can rely on exactly
 * which tools are called. A turn's `delayMs` stands in for model latency and honours the task's signal.
 */
export function createScriptedModel(spec: ScriptedModelSpec): Model {
  let next = 0;
  return {
    async complete({ signal }): Promise<ModelResponse> {
      if (next >= spec.turns.length) {
        if (!spec.loop) throw new LoopError('model_error', 'scripted model ran out of turns');
        next = 0;
      }
      const turnIndex = next++;
      const turn = spec.turns[turnIndex]!;
      if (turn.delayMs) await sleep(turn.delayMs, undefined, { signal });
      const response: ModelResponse = {};
      if (turn.text !== undefined) response.text = turn.text;
      if (turn.usage) response.usage = turn.usage;
      if (turn.toolCalls?.length) {
        response.toolCalls = turn.toolCalls.map((call, index) => ({
          id: call.id ?? `call_${turnIndex}_${index}`,
          name: call.name,
          arguments: call.arguments ?? {},
        }));
      }
      return response;
    },
  };
}
