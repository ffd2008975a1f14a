import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);

// A workspace file that retitles the terminal, clears the screen, sets a colour through the C1 CSI, rings the
// bell and returns the carriage: none of it may reach the user's terminal.
const HOSTILE = 'TODO \u001b]0;pwned\u0007\u001b[2J\u009b31m fix\u0007 me\r later\n';
const CONTROLS = /(?![\n\t])\p{Cc}/u;
let root = '';
let state = '';

beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'errand-escapes-state-'));
  root = await mkdtemp(join(tmpdir(), 'errand-escapes-'));
  await mkdir(join(root, 'packages'));
  await writeFile(join(root, 'packages', 'notes.txt'), HOSTILE);
  // File names may hold escapes too, and the demo's "largest files" answer names the biggest one.
  await writeFile(join(root, 'packages', 'big\u001b]0;pwned\u0007\u001b[2J.txt'), 'x'.repeat(10_000));
  await copyFile(join(repo, 'package.json'), join(root, 'package.json'));
  await copyFile(join(repo, 'README.md'), join(root, 'README.md'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

async function errand(args: string[]) {
  const { ERRAND_STORE: _store, ...base } = process.env;
  const { stdout, stderr } = await exec(process.execPath, [bin, '--root', root, ...args], {
    cwd: root,
    env: { ...base, XDG_STATE_HOME: state },
    timeout: 60_000,
  });
  return { stdout, stderr };
}

describe('the CLI prints task text without terminal escapes', () => {
  it('errand run: output lines and summaries carry no escape sequences or controls', async () => {
    const { stdout, stderr } = await errand(['run', 'Count TODOs under packages/']);
    expect(stdout).toContain('packages/notes.txt:1: TODO  fix me later');
    for (const text of [stdout, stderr]) {
      expect(text).not.toContain('\u001b]0;pwned');
      expect(text).not.toContain('\u001b[2J');
      expect(text).not.toMatch(CONTROLS);
    }
  });

  it('errand tasks and errand show: the table, the output tail and the result carry none either', async () => {
    const { stderr: ran } = await errand(['run', 'Count TODOs under packages/']);
    const id = /^task ([0-9a-f-]{36})$/m.exec(ran)?.[1];
    const { stdout: listed } = await errand(['tasks', '--status', 'completed']);
    expect(listed).toMatch(new RegExp(`^${id}\\s+completed\\s`, 'm'));
    const { stdout } = await errand(['show', id!]);
    expect(stdout).toContain('packages/notes.txt:1: TODO  fix me later');
    expect(stdout).toMatch(/^result:\n\[demo model\] Found/m);
    for (const text of [listed, stdout]) {
      expect(text).not.toContain('\u001b]0;pwned');
      expect(text).not.toMatch(CONTROLS);
    }
  });

  it('errand demo: the progress lines and the summary table carry none either', async () => {
    const { stdout } = await errand(['demo']);
    expect(stdout).toMatch(/todos\s+completed .*notes\.txt:1: TODO/);
    expect(stdout).toMatch(/largest\s+completed .*packages\/big\.txt/);
    expect(stdout).not.toMatch(CONTROLS);
  });
});
