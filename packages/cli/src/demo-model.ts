/**
 * The offline demo model: a deterministic policy, not an LLM. It plans real tool calls from the goal's words
 * ("count TODOs under packages/", "hash every file", "find the largest files"), re-plans when steering
 * arrives, and writes its final answer from the tool results. It is an ordinary `module` model provider.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Model,
  type ModelMessage,
  type ModelRequest,
  type ModelResponse,
  STEERING_PREFIX,
} from '@errand/worker';

/** Options for the demo model. */
export interface DemoModelOptions {
  /** Pause before each turn, standing in for model latency. @default 300 */
  thinkMs?: number;
  /** Pause between streamed words. @default 25 */
  wordMs?: number;
}

interface Plan {
  tool: string;
  args: Record<string, unknown>;
  says: string;
}

/**
 * Most rounds one `hash_files` call does. A longer job ("1000 times over") is done in passes, one per model
 * turn, so it completes iterations (and checkpoints) as it goes: stopped midway, it can be resumed.
 */
export const ROUNDS_PER_PASS = 100;

export default function createModel(options: DemoModelOptions = {}): Model {
  const thinkMs = options.thinkMs ?? 300;
  const wordMs = options.wordMs ?? 25;
  let calls = 0;
  return {
    async complete(request: ModelRequest): Promise<ModelResponse> {
      await sleep(thinkMs, undefined, { signal: request.signal });
      const { messages } = request;
      const goal = messages.find((message) => message.role === 'user')?.content ?? '';
      const lastTool = lastIndex(messages, (message) => message.role === 'tool');
      const lastSteer = lastIndex(
        messages,
        (message) => message.role === 'user' && message.content.startsWith(STEERING_PREFIX),
      );
      const steering =
        lastSteer === -1 ? undefined : messages[lastSteer]!.content.slice(STEERING_PREFIX.length).trim();
      const usage = {
        inputTokens: messages.reduce((sum, message) => sum + message.content.length, 0) >> 2,
        outputTokens: 0,
      };

      // A conversation given back from a checkpoint ends with the host's note, after the last tool result.
      const last = messages.at(-1);
      const resumed =
        lastTool !== -1 && last?.role === 'user' && !last.content.startsWith(STEERING_PREFIX)
          ? 'Resumed from a checkpoint. '
          : '';
      let text: string;
      let plan: Plan | undefined;
      const pass = lastTool === -1 ? undefined : nextPass(messages, `${goal} ${steering ?? ''}`);
      if (lastTool === -1) {
        plan = planFor(goal, steering);
        text = `[demo model] Plan: ${plan.says}.`;
      } else if (lastSteer > lastTool && steering && !/\b(stop|enough|wrap up)\b/i.test(steering)) {
        plan = planFor(goal, steering);
        text = `[demo model] Steering received ("${steering}"). Re-planning: ${plan.says}.`;
      } else if (pass) {
        plan = pass;
        text = `[demo model] ${resumed}${plan.says}.`;
      } else {
        text = `[demo model] ${resumed}${answerFrom(messages, lastTool)}`;
      }
      await stream(text, request, wordMs);
      usage.outputTokens = text.length >> 2;
      if (!plan) return { text, usage };
      calls += 1;
      return { text, usage, toolCalls: [{ id: `demo_${calls}`, name: plan.tool, arguments: plan.args }] };
    },
  };
}

function lastIndex(messages: readonly ModelMessage[], test: (message: ModelMessage) => boolean): number {
  for (let index = messages.length - 1; index >= 0; index--) if (test(messages[index]!)) return index;
  return -1;
}

async function stream(text: string, request: ModelRequest, wordMs: number): Promise<void> {
  if (!request.onTextDelta) return;
  const words = text.split(/(?<= )/);
  for (const word of words) {
    request.onTextDelta(word);
    if (wordMs > 0) await sleep(wordMs, undefined, { signal: request.signal });
  }
}

/** The first path-looking word: `packages/core`, `src/`, `./`, `README.md`, `notes.txt`. */
function pathIn(text: string): string | undefined {
  const match = /(?:^|\s)((?:\.\/)?[\w.-]+\/[\w./-]*|[\w-]+\.[A-Za-z][A-Za-z0-9]{0,7})(?=[\s,.;:!?)]|$)/.exec(
    text,
  );
  return match?.[1]?.replace(/\/$/, '') || undefined;
}

function planFor(goal: string, steering: string | undefined): Plan {
  const words = `${goal} ${steering ?? ''}`;
  const path = pathIn(steering ?? '') ?? pathIn(goal) ?? '.';
  const rounds = Number(/(\d+)\s*(?:times|rounds)/i.exec(words)?.[1] ?? 1);
  if (/todo|fixme/i.test(goal)) {
    return {
      tool: 'grep',
      args: { pattern: 'TODO|FIXME', path, max_matches: 20 },
      says: `search ${path} for TODO and FIXME markers`,
    };
  }
  if (/hash/i.test(goal)) {
    return {
      tool: 'hash_files',
      args: { path, rounds: Math.min(rounds, 1000, ROUNDS_PER_PASS) },
      says: `hash every file under ${path}${rounds > 1 ? ` ${rounds} times over` : ''}`,
    };
  }
  if (/largest|biggest/i.test(goal)) {
    return { tool: 'largest_files', args: { path, count: 5 }, says: `rank the files under ${path} by size` };
  }
  if (/stat|words/i.test(goal)) {
    return { tool: 'text_stats', args: { path, top: 5 }, says: `count lines and words in ${path}` };
  }
  if (/json|dependenc|scripts/i.test(goal)) {
    const query = /dependenc/i.test(words) ? 'devDependencies' : 'scripts';
    return {
      tool: 'json_query',
      args: { path: path === '.' ? 'package.json' : path, query },
      says: `read ${query} from ${path === '.' ? 'package.json' : path}`,
    };
  }
  return { tool: 'list_files', args: { path, recursive: true }, says: `list the files under ${path}` };
}

/**
 * The next pass of a hash job longer than {@link ROUNDS_PER_PASS} rounds, or undefined when the plan's rounds
 * are done (or the plan is not a hash). Counts the rounds of the `hash_files` calls since the last plan, so a
 * resumed conversation goes on where its checkpoint left off.
 */
function nextPass(messages: readonly ModelMessage[], words: string): Plan | undefined {
  const planned = lastIndex(
    messages,
    (message) => message.role === 'assistant' && /\b(Plan|Re-planning):/.test(message.content),
  );
  const call = messages[planned]?.toolCalls?.[0];
  if (call?.name !== 'hash_files') return undefined;
  const total = Math.min(Number(/(\d+)\s*(?:times|rounds)/i.exec(words)?.[1] ?? 1), 1000);
  let done = 0;
  for (const message of messages.slice(planned)) {
    for (const each of message.role === 'assistant' ? (message.toolCalls ?? []) : []) {
      if (each.name === 'hash_files')
        done += Number((each.arguments as { rounds?: unknown } | null)?.rounds ?? 1);
    }
  }
  if (done >= total) return undefined;
  const rounds = Math.min(total - done, ROUNDS_PER_PASS);
  const passes = Math.ceil(total / ROUNDS_PER_PASS);
  const path = (call.arguments as { path?: unknown } | null)?.path ?? '.';
  return {
    tool: 'hash_files',
    args: { path, rounds },
    says: `Pass ${Math.floor(done / ROUNDS_PER_PASS) + 1} of ${passes}: ${done} of ${total} rounds done, hashing every file under ${String(path)} ${rounds} more times`,
  };
}

function answerFrom(messages: readonly ModelMessage[], lastTool: number): string {
  const result = messages[lastTool]!.content;
  const call = messages
    .slice(0, lastTool)
    .reverse()
    .find((message) => message.role === 'assistant' && message.toolCalls?.length)?.toolCalls?.[0];
  // A refused call (no such file, a path outside the root) means the goal was not met: say so by failing the
  // task, so that hosts (and the demo's exit code) see a failure rather than a "completed" apology.
  if (result.startsWith('{"error"')) {
    throw new Error(
      `[demo model] cannot answer: the ${call?.name ?? 'tool'} call was refused: ${refusal(result)}`,
    );
  }
  const lines = result.split('\n');
  switch (call?.name) {
    case 'grep':
      return `Found ${lines[0]} for TODO/FIXME. ${lines.slice(1, 4).join('; ')}`;
    case 'hash_files':
      return `Hashed ${lines[0]}. First: ${lines[1] ?? 'none'}`;
    case 'largest_files':
      return `Largest files: ${lines.map((line) => `${line.split('\t').reverse().join(' (')} bytes)`).join(', ')}`;
    case 'text_stats': {
      const stats = JSON.parse(result) as { files: number; lines: number; words: number; top_words: object };
      return `${stats.files} files, ${stats.lines} lines, ${stats.words} words; most frequent: ${Object.keys(stats.top_words).join(', ')}`;
    }
    case 'json_query': {
      const value = JSON.parse(result) as unknown;
      const entries = value && typeof value === 'object' ? Object.entries(value) : [];
      return entries.length
        ? `${entries.length} entries: ${entries.map(([key, item]) => `${key} ${String(item)}`).join(', ')}`
        : `The value is ${result}`;
    }
    default:
      return `${call?.name ?? 'tool'} says: ${lines.slice(0, 5).join(' | ').slice(0, 300)}`;
  }
}

/** The message of a tool's `{"error": …}` reply. */
function refusal(result: string): string {
  try {
    const reply = JSON.parse(result) as { error?: { message?: unknown } | string };
    const message = typeof reply.error === 'string' ? reply.error : reply.error?.message;
    return typeof message === 'string' ? message : result;
  } catch {
    return result;
  }
}
