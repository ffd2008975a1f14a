import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packages = fileURLToPath(new URL('../../packages/', import.meta.url));
let folder = '';

// An install of @errand/tools without @modelcontextprotocol/sdk: the built package copied (so resolution cannot
// find the SDK beside its sources), its real dependencies linked.
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'errand-no-sdk-'));
  const modules = join(folder, 'node_modules');
  mkdirSync(join(modules, '@errand', 'tools'), { recursive: true });
  cpSync(join(packages, 'tools', 'package.json'), join(modules, '@errand', 'tools', 'package.json'));
  cpSync(join(packages, 'tools', 'dist'), join(modules, '@errand', 'tools', 'dist'), { recursive: true });
  symlinkSync(join(packages, 'core'), join(modules, '@errand', 'core'), 'dir');
  symlinkSync(join(packages, 'worker'), join(modules, '@errand', 'worker'), 'dir');
  symlinkSync(join(packages, 'tools', 'node_modules', 'zod'), join(modules, 'zod'), 'dir');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs an ES module snippet in the folder and returns what it printed. */
function run(source: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', source], {
    cwd: folder,
    encoding: 'utf8',
  });
}

describe('@modelcontextprotocol/sdk is an optional peer', () => {
  it('@errand/tools works without it; @errand/tools/mcp says which package to install', () => {
    const openai = run(`
      import { Supervisor } from '@errand/core';
      import { createDelegationTools, toOpenAITools } from '@errand/tools';
      const supervisor = new Supervisor({ model: { provider: 'scripted', turns: [{ text: 'x' }] } });
      const tools = toOpenAITools(createDelegationTools(supervisor.session('s')));
      console.log(tools.map((tool) => tool.function.name).join(','));
      await supervisor.close();
    `);
    expect(openai.trim()).toBe(
      'delegate_task_async,check_task,collect_task,steer_task,cancel_task,list_tasks',
    );
    const mcp = run(`
      await import('@errand/tools/mcp').then(
        () => console.log('loaded'),
        (error) => console.log(error.message),
      );
    `);
    expect(mcp.trim()).toBe(
      '@errand/tools/mcp needs the MCP SDK: install `@modelcontextprotocol/sdk` (1.x) beside @errand/tools',
    );
  });
});
