import { type Session, Supervisor, type SupervisorEvents, type SupervisorOptions } from '@errand/core';

/** A file URL for a fixture module (workers load JavaScript only, so fixtures are .mjs). */
export function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).href;
}

type Turn = {
  text?: string;
  toolCalls?: { name: string; arguments?: unknown }[];
  delayMs?: number;
  spinMs?: number;
  usage?: { inputTokens: number; outputTokens: number };
};

/** A scripted model spec. */
export function scripted(turns: Turn[], loop = false) {
  return { provider: 'scripted' as const, turns, ...(loop ? { loop } : {}) };
}

/** The probe model: plays turns like `scripted`, and answers `$conversation` with what it was sent. */
export function probe(turns: Turn[]) {
  return { provider: 'module' as const, specifier: fixture('engine-probe-model.mjs'), options: { turns } };
}

const open = new Set<Supervisor>();

/** A supervisor that `closeAll()` will close; defaults keep tests small and fast. */
export function supervisor(
  options: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'model'>,
): Supervisor {
  const created = new Supervisor({
    toolsets: {
      echo: fixture('echo-toolset.mjs'),
      faults: fixture('engine-faults-toolset.mjs'),
    },
    ...options,
    pool: { maxThreads: 2, minThreads: 0, ...options.pool },
  });
  open.add(created);
  return created;
}

export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((each) => each.close({ graceMs: 200 })));
  open.clear();
}

/** Resolves with the first event of that name whose payload passes `accept`. */
export function nextEvent<E extends keyof SupervisorEvents>(
  source: Supervisor,
  event: E,
  accept: (...args: SupervisorEvents[E]) => boolean = () => true,
): Promise<SupervisorEvents[E]> {
  return new Promise((resolve) => {
    const listener = (...args: SupervisorEvents[E]) => {
      if (!accept(...args)) return;
      source.off(event, listener as never);
      resolve(args);
    };
    source.on(event, listener as never);
  });
}

/** Waits until a task's output has a line matching `pattern` (through the public `stream`). */
export async function lineMatching(session: Session, taskId: string, pattern: RegExp): Promise<string> {
  for await (const line of session.stream(taskId)) if (pattern.test(line.text)) return line.text;
  throw new Error(`task ${taskId} ended without a line matching ${pattern}`);
}
