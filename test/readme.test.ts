import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('README', () => {
  it('has a quickstart that runs as written and prints what it says', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Quickstart'));
    const codeStart = section.indexOf('```js') + 5;
    const codeEnd = section.indexOf('```', codeStart);
    const code = section.slice(codeStart, codeEnd);
    const outputStart = section.indexOf('```\n', codeEnd + 3) + 4;
    const expected = section.slice(outputStart, section.indexOf('```', outputStart));
    // Written next to this test so that `@errand/core` resolves from the test package, as for a host.
    const file = new URL('./.quickstart.tmp.mjs', import.meta.url);
    await writeFile(file, code);
    try {
      const { stdout } = await run(process.execPath, [file.pathname], { timeout: 30_000 });
      const lines = stdout.trim().split('\n');
      expect(['queued', 'running']).toContain(lines[0]);
      expect(lines.slice(1).join('\n').replace(/\s+/g, ' ')).toBe(expected.trim().replace(/\s+/g, ' '));
    } finally {
      await rm(file, { force: true });
    }
  });
});
