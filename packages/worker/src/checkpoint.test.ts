import { describe, expect, it } from 'vitest';
import { RESUMED_NOTE, resumeMessages, takeCheckpoint } from './checkpoint.js';
import type { ModelMessage } from './model.js';

const conversation = (toolChars: number, tools = 3): ModelMessage[] => [
  { role: 'system', content: 'system prompt' },
  { role: 'user', content: 'the goal' },
  ...Array.from({ length: tools }, (_, index): ModelMessage[] => [
    {
      role: 'assistant',
      content: `turn ${index}`,
      toolCalls: [{ id: `c${index}`, name: 't', arguments: {} }],
    },
    { role: 'tool', content: String(index).repeat(toolChars), toolCallId: `c${index}` },
  ]).flat(),
];

describe('takeCheckpoint', () => {
  it('keeps a conversation that fits as it is', () => {
    const messages = conversation(10);
    const checkpoint = takeCheckpoint(messages, 3, 1_000_000);
    expect(checkpoint).toEqual({ iterations: 3, messages: JSON.stringify(messages) });
  });

  it('shortens the oldest tool results first, with a marker, to fit the bound', () => {
    const messages = conversation(10_000);
    const checkpoint = takeCheckpoint(messages, 3, 15_000);
    expect(checkpoint.messages.length).toBeLessThanOrEqual(15_000);
    const kept = JSON.parse(checkpoint.messages) as ModelMessage[];
    expect(kept.map((message) => message.role)).toEqual(messages.map((message) => message.role));
    expect(kept[3]!.content).toMatch(/^0{200}… \[shortened in the checkpoint\]$/);
    expect(kept[5]!.content).toMatch(/shortened in the checkpoint/);
    // The newest tool result is the one kept whole.
    expect(kept[7]!.content).toBe('2'.repeat(10_000));
    expect(kept[0]!.content).toBe('system prompt');
    expect(kept[1]!.content).toBe('the goal');
  });

  it('resumes from the checkpointed messages with a note at the end', () => {
    const messages = conversation(5, 1);
    const resumed = resumeMessages(takeCheckpoint(messages, 1, 1_000));
    expect(resumed.slice(0, -1)).toEqual(messages);
    expect(resumed.at(-1)).toEqual({ role: 'user', content: RESUMED_NOTE });
  });
});
