export { STEERING_PREFIX } from './agent-loop.js';
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
export {
  aiSdkModelSpecSchema,
  hostModelSpecSchema,
  modelSpecSchema,
  moduleModelSpecSchema,
  openAICompatibleModelSpecSchema,
  scriptedModelSpecSchema,
  scriptedTurnSchema,
} from './model-specs.js';
export type {
  AiSdkModelSpec,
  ChunkKind,
  ErrorCode,
  ExitReason,
  HostModelSpec,
  ModelSpec,
  ModuleModelSpec,
  OpenAICompatibleModelSpec,
  ScriptedModelSpec,
  ScriptedTurn,
  SpanRecord,
  ToolsetSpec,
  Usage,
} from './protocol.js';
export type { RedactOptions } from './redactor.js';
export { MIN_SECRET_LENGTH, REDACTED, Redactor, SECRET_NAME, secretValues } from './redactor.js';
export { safeJson } from './tool-step.js';
export type { ToolContext, ToolDefinition, Toolset, ToolsetFactory } from './toolset.js';
export { defineTool, defineToolset } from './toolset.js';
