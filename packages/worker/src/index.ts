export { STEERING_PREFIX, safeJson } from './agent-loop.js';
export { isToolError, ToolError } from './errors.js';
export type { HostApi } from './host-bridge.js';
export type {
  CreateModel,
  Model,
  ModelMessage,
  ModelRequest,
  ModelResponse,
  ModelTool,
  ToolCall,
} from './model.js';
export type {
  BridgeSpec,
  ChunkKind,
  ErrorCode,
  ExitReason,
  HostModelSpec,
  ModelSpec,
  ModuleModelSpec,
  OpenAICompatibleModelSpec,
  OutputChunk,
  ParentMessage,
  Progress,
  ScriptedModelSpec,
  ScriptedTurn,
  TaskOutcome,
  TaskPayload,
  TerminalStatus,
  ToolsetSpec,
  Usage,
  WireError,
  WorkerMessage,
} from './protocol.js';
export {
  CONTROL,
  ERROR_CODES,
  hostModelSpecSchema,
  modelSpecSchema,
  moduleModelSpecSchema,
  openAICompatibleModelSpecSchema,
  parentMessageSchema,
  STOP_CANCEL,
  STOP_TIMEOUT,
  scriptedModelSpecSchema,
  scriptedTurnSchema,
} from './protocol.js';
export type { RedactOptions } from './redactor.js';
export { MIN_SECRET_LENGTH, REDACTED, Redactor, SECRET_NAME, secretValues } from './redactor.js';
export type { ToolContext, ToolDefinition, Toolset, ToolsetFactory } from './toolset.js';
export { defineTool, defineToolset } from './toolset.js';

/** The built Piscina task entry (CommonJS; see `entry/piscina-entry.cts`). Workers need JavaScript at run time, so this points into `dist`. */
export const workerEntryUrl: URL = new URL('./entry/piscina-entry.cjs', import.meta.url);
