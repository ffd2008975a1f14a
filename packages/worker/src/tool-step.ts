import { abortable } from './abortable.js';
import type { CancelToken } from './cancel-token.js';
import { describeError, isToolError, LoopError, StopRequested } from './errors.js';
import type { ToolCall } from './model.js';
import type { OutputStream } from './output-stream.js';
import { redact } from './redact.js';
import type { LoadedTool, ToolContext } from './toolset.js';

/** Longest tool-call arguments (as JSON) a tool will be run with; longer ones go back to the model. */
export const MAX_TOOL_ARGUMENT_CHARS = 100_000;

/** What a tool step needs from the loop. */
export interface ToolStepOptions {
  taskId: string;
  sessionId: string;
  tools: Map<string, LoadedTool>;
  maxToolResultChars: number;
  token: CancelToken;
  output: OutputStream;
}

/** Runs one tool call. Bad calls become messages to the model; a throwing tool ends the task. */
export async function runTool(
  call: ToolCall,
  options: ToolStepOptions,
  checkpoint: () => string[],
): Promise<string> {
  const { output, token } = options;
  const argsText = typeof call.arguments === 'string' ? call.arguments : safeJson(call.arguments);
  output.push({ kind: 'tool_call', text: `${call.name} ${argsText}` });
  // The host should see which tool is running even if that tool never yields.
  output.flush();
  const reject = (message: string) => {
    output.push({ kind: 'tool_result', text: `${call.name} error: ${message}` });
    return JSON.stringify({ error: message });
  };
  if (argsText.length > MAX_TOOL_ARGUMENT_CHARS) {
    return reject(`arguments are ${argsText.length} characters; the limit is ${MAX_TOOL_ARGUMENT_CHARS}`);
  }
  const tool = options.tools.get(call.name);
  if (!tool) {
    const known = [...options.tools.keys()].join(', ') || 'none';
    return reject(`unknown tool "${call.name}"; available tools: ${known}`);
  }
  let args: unknown = call.arguments;
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : JSON.parse(args);
    } catch (error) {
      return reject(`arguments are not valid JSON (${describeError(error)})`);
    }
  }
  const parsed = tool.definition.input.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    return reject(`invalid arguments: ${issues.join('; ')}`);
  }
  const ctx: ToolContext = {
    signal: token.signal,
    emit: (text) => output.emit({ kind: 'log', text: String(text) }),
    checkpoint,
    taskId: options.taskId,
    sessionId: options.sessionId,
  };
  let value: unknown;
  try {
    // Only the synchronous part is marked: an awaiting tool lets its co-tenants run.
    token.busy(true);
    let returned: unknown;
    try {
      returned = tool.definition.run(parsed.data, ctx);
    } finally {
      token.busy(false);
    }
    value = await abortable(Promise.resolve(returned), token.signal);
  } catch (error) {
    if (error instanceof StopRequested || token.requested()) throw token.error();
    if (isToolError(error)) return reject(error.message);
    throw new LoopError('tool_error', `tool ${call.name} failed: ${describeError(error)}`, { cause: error });
  }
  const full = typeof value === 'string' ? value : safeJson(value);
  const content = cut(full, options.maxToolResultChars);
  // The output copy is redacted before the cut: a key cut in half would escape redaction.
  output.push({
    kind: 'tool_result',
    text: `${call.name}: ${cut(redact(full), options.maxToolResultChars)}`,
  });
  return content;
}

/** JSON for any value, falling back to `String()` for what JSON cannot hold (BigInt, cycles). */
export function safeJson(value: unknown): string {
  if (value === undefined) return 'null';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [cut: ${text.length - max} more characters]`;
}
