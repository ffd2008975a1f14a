import { describe, expect, it } from 'vitest';
import { loadToolsets } from './toolset.js';

const echo = { specifier: new URL('../../../test/fixtures/echo-toolset.mjs', import.meta.url).href };

describe('loadToolsets', () => {
  it('offers each tool with its JSON Schema, converted once per thread and reused by later tasks', async () => {
    const first = await loadToolsets({ echo });
    const second = await loadToolsets({ echo });
    const offer = first.get('echo')?.offer;
    expect(offer?.name).toBe('echo');
    expect(offer?.parameters).toMatchObject({
      type: 'object',
      properties: { text: { type: 'string' } },
      required: ['text'],
    });
    expect(offer?.parameters).not.toHaveProperty('$schema');
    expect(second.get('echo')?.offer.parameters).toBe(offer?.parameters);
  });

  it('turns a module that is not a toolset into a tool_error naming it', async () => {
    const bad = { specifier: 'data:text/javascript,export default 42' };
    await expect(loadToolsets({ bad })).rejects.toMatchObject({
      code: 'tool_error',
      message: expect.stringContaining('toolset bad'),
    });
  });
});
