import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeAll, probe, supervisor } from '../helpers.js';

const base = mkdtempSync(join(tmpdir(), 'errand-workspace-'));
const root = join(base, 'root');
afterEach(closeAll);
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('workspace toolset in a real worker', () => {
  it('answers traversal attempts with tool errors the agent sees, and reads what is inside', async () => {
    writeFileSync(join(base, 'outside.txt'), 'secret');
    mkdirSync(root);
    writeFileSync(join(root, 'inside.txt'), 'hello from inside');
    symlinkSync(join(base, 'outside.txt'), join(root, 'link-out.txt'));
    const sup = supervisor({
      model: probe([
        {
          toolCalls: [
            { name: 'read_file', arguments: { path: '../outside.txt' } },
            { name: 'read_file', arguments: { path: join(base, 'outside.txt') } },
            { name: 'read_file', arguments: { path: 'link-out.txt' } },
            { name: 'read_file', arguments: { path: 'inside.txt' } },
          ],
        },
        { text: '$conversation' },
      ]),
      toolsets: {
        workspace: { specifier: import.meta.resolve('@errand/worker/toolsets/workspace'), options: { root } },
      },
    });
    const session = sup.session('s');
    const done = await session.collect(session.delegate({ goal: 'read around' }));
    expect(done.status).toBe('completed');
    const tools = done.result!.split('\n').filter((line) => line.startsWith('tool: '));
    expect(tools).toEqual([
      'tool: {"error":"path \\"../outside.txt\\" leaves the root"}',
      expect.stringContaining('absolute paths are not allowed'),
      'tool: {"error":"path \\"link-out.txt\\" is a link that leaves the root"}',
      'tool: hello from inside',
    ]);
    expect(done.result).not.toContain('secret');
  });
});
