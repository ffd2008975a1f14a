import { Supervisor } from '@errand/core';
import { type CliSettings, supervisorOptions } from './config.js';
import { plain } from './terminal-text.js';

/** Options of `errand run`. */
export interface RunOptions {
  model?: string | undefined;
  toolsets?: string[] | undefined;
  timeoutSeconds?: number | undefined;
  maxIterations?: number | undefined;
  json?: boolean | undefined;
}

/**
 * Delegates one goal, streams its output, and returns the exit code: 0 when it completed, 130 when it was
 * cancelled (Ctrl-C), 1 otherwise. The first Ctrl-C cancels cooperatively; a second one terminates the worker.
 */
export async function runGoal(
  goal: string,
  settings: CliSettings,
  options: RunOptions,
  io: { write: (text: string) => void; error: (text: string) => void },
): Promise<number> {
  const supervisor = new Supervisor(supervisorOptions(settings));
  const session = supervisor.session('cli');
  const id = session.delegate({
    goal,
    ...(options.model ? { model: options.model } : {}),
    ...(options.toolsets?.length ? { toolsets: options.toolsets } : {}),
    ...(options.timeoutSeconds ? { timeoutMs: Math.round(options.timeoutSeconds * 1000) } : {}),
    ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
  });
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts += 1;
    if (interrupts === 1) {
      io.error('\ncancelling… (Ctrl-C again to stop at once)\n');
      void session.cancel(id, { reason: 'interrupted (Ctrl-C)' });
    } else {
      void supervisor.close({ graceMs: 0 });
    }
  };
  process.on('SIGINT', onInterrupt);
  try {
    if (!options.json) io.error(`task ${id}\n`);
    // Output comes from files, tools and models: print it without terminal escape sequences.
    for await (const line of session.stream(id)) if (!options.json) io.write(`${plain(line.text)}\n`);
    const snapshot = await session.collect(id, { timeoutMs: 0 });
    if (options.json) io.write(`${jsonForTerminal(snapshot)}\n`);
    else {
      const detail = snapshot.error ? ` (${snapshot.error.code}: ${plain(snapshot.error.message)})` : '';
      io.error(`\n${snapshot.status} after ${snapshot.iterations} iterations${detail}\n`);
    }
    if (snapshot.status === 'completed') return 0;
    return snapshot.status === 'cancelled' ? 130 : 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    await supervisor.close({ graceMs: 500 });
  }
}

/**
 * JSON whose strings carry no raw control character: `JSON.stringify` escapes C0 but writes DEL and C1 (U+009B
 * is a one-character CSI) as they are, so those are escaped too. Parsing it gives back the same value.
 */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    // Raw newlines here are the layout's own: JSON.stringify has escaped those inside strings.
    /(?![\n\t])\p{Cc}/gu,
    (control) => `\\u${control.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
