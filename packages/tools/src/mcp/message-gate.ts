import {
  ClientRequestSchema,
  ErrorCode,
  type JSONRPCErrorResponse,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** What the gate made of one line: a message to hand to the server, or a problem (and maybe a reply). */
export type GateResult = { message: JSONRPCMessage } | { problem: string; reply?: JSONRPCErrorResponse };

/** Longest error message sent back or logged for one bad line: a hostile line must not be echoed whole. */
const MAX_PROBLEM_CHARS = 300;

// Each MCP client request's own schema, by method. The SDK's Protocol answers a request whose params fail its
// method's schema with -32603 "Internal error" (the ZodError it throws has no code), so the gate checks them
// first and answers -32602 "Invalid params" itself.
const requestSchemas = new Map(
  ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema] as const),
);

/**
 * Turns one stdin line into a JSON-RPC message for the MCP server, or into the JSON-RPC error it deserves:
 * -32700 when it is not JSON, -32600 when it is JSON but not a JSON-RPC request (id `null` unless a usable id
 * was given), -32602 when a known MCP request has bad params. Malformed responses and notifications get no
 * reply (JSON-RPC never answers those) but are still reported as a problem.
 */
export function admitLine(line: string): GateResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    const problem = `parse error: ${(error as Error).message}`;
    return { problem, reply: errorResponse(null, ErrorCode.ParseError, problem) };
  }
  const parsed = JSONRPCMessageSchema.safeParse(value);
  if (parsed.success) {
    const message = parsed.data;
    if (!('method' in message) || !('id' in message)) return { message };
    const schema = requestSchemas.get(message.method);
    const checked = schema?.safeParse({ method: message.method, params: message.params });
    if (!checked || checked.success) return { message };
    const problem = `invalid params for ${message.method}: ${firstIssue(checked.error.issues)}`;
    return { problem, reply: errorResponse(message.id, ErrorCode.InvalidParams, problem) };
  }
  return rejectMalformed(value, firstIssue(parsed.error.issues));
}

/** JSON that is not a valid JSON-RPC message: answer requests, only report the rest. */
function rejectMalformed(value: unknown, issue: string): GateResult {
  if (Array.isArray(value)) {
    const problem = 'invalid request: JSON-RPC batches are not supported';
    return { problem, reply: errorResponse(null, ErrorCode.InvalidRequest, problem) };
  }
  if (typeof value !== 'object' || value === null) {
    const problem = `invalid request: expected a JSON-RPC object, got ${value === null ? 'null' : typeof value}`;
    return { problem, reply: errorResponse(null, ErrorCode.InvalidRequest, problem) };
  }
  const fields = value as Record<string, unknown>;
  const id = requestId(fields.id);
  if (!('method' in fields) && ('result' in fields || 'error' in fields)) {
    return { problem: `malformed response ignored: ${issue}` };
  }
  if (!('id' in fields) && typeof fields.method === 'string') {
    return { problem: `malformed notification ${clip(fields.method, 64)} ignored: ${issue}` };
  }
  const wellFormedRequest = fields.jsonrpc === '2.0' && id !== null && typeof fields.method === 'string';
  if (wellFormedRequest && 'params' in fields && !isPlainObject(fields.params)) {
    const problem = `invalid params for ${clip(String(fields.method), 64)}: params must be an object`;
    return { problem, reply: errorResponse(id, ErrorCode.InvalidParams, problem) };
  }
  const problem = `invalid request: ${issue}`;
  return { problem, reply: errorResponse(id, ErrorCode.InvalidRequest, problem) };
}

/** The id of a request, if it is one JSON-RPC allows us to echo (a string or an integer). */
export function requestId(value: unknown): RequestId | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return null;
}

export function errorResponse(id: RequestId | null, code: number, message: string): JSONRPCErrorResponse {
  // JSON-RPC requires `id: null` when the request's id cannot be known; the SDK's type only admits real ids.
  return { jsonrpc: '2.0', id: id as RequestId, error: { code, message: clip(message, MAX_PROBLEM_CHARS) } };
}

function firstIssue(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  const issue = issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One line, at most `max` characters: log lines and replies never carry a hostile payload whole. */
export function clip(text: string, max: number): string {
  const line = text.replace(/[\s\p{Cc}]+/gu, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
