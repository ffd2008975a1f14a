import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The README's quickstart section: its code block and the output block after it. */
async function quickstart(): Promise<{ code: string; output: string }> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Quickstart'));
  const codeStart = section.indexOf('```js\n') + 6;
  const codeEnd = section.indexOf('```', codeStart);
  const outputStart = section.indexOf('```\n', codeEnd + 3) + 4;
  return {
    code: section.slice(codeStart, codeEnd),
    output: section.slice(outputStart, section.indexOf('```', outputStart)),
  };
}

describe('test/quickstart.mjs (the README says: node test/quickstart.mjs)', () => {
  it('is the README quickstart as written', async () => {
    const { code } = await quickstart();
    expect(await readFile(new URL('../quickstart.mjs', import.meta.url), 'utf8')).toBe(code);
  });

  it('runs from the repository root and prints what the README shows', async () => {
    const { output } = await quickstart();
    const { stdout } = await run(process.execPath, ['test/quickstart.mjs'], { cwd: repo, timeout: 30_000 });
    const lines = stdout.trim().split('\n');
    expect(['queued', 'running']).toContain(lines[0]);
    expect(lines.slice(1).join('\n').replace(/\s+/g, ' ')).toBe(output.trim().replace(/\s+/g, ' '));
  });
});
