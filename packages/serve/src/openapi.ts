import { replySchemas, TASK_STATUSES, type ToolBounds, toolSchemas } from '@errand/core';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/** A zod schema as a JSON Schema (draft 2020-12, OpenAPI 3.1's dialect), without the `$schema` line. */
function json(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }).loose() })
  .loose()
  .describe('Every error: the code (invalid_input, unauthorized, not_found, …) and a sentence.');

/**
 * The OpenAPI 3.1 document of the API, generated from the tools' own zod schemas (`toolSchemas` for what comes
 * in, `replySchemas` for what goes out), so the HTTP contract cannot drift from the tools'.
 */
export function openApiDocument(bounds: ToolBounds, version: string): JsonSchema {
  const inputs = toolSchemas(bounds, { nullable: false });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const body = (name: string, required = true) => ({
    required,
    content: { 'application/json': { schema: ref(name) } },
  });
  const reply = (description: string, name: string) => ({
    description,
    content: { 'application/json': { schema: ref(name) } },
  });
  const errors = (...statuses: number[]) =>
    Object.fromEntries(
      statuses.map((status) => [String(status), { $ref: `#/components/responses/E${status}` }]),
    );
  const taskId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const sse = (description: string) => ({
    description,
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  });

  return {
    openapi: '3.1.0',
    info: {
      title: 'errand',
      version,
      description:
        'Delegate goals to background agents, follow them live, steer and cancel them. Every route but this ' +
        'document needs `Authorization: Bearer <token>` when tokens are configured; a token sees only its own ' +
        "session's tasks (another session's task id is 404 not_found).",
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/tasks': {
        post: {
          operationId: 'delegate',
          summary: 'Start a goal in the background (or resume a stopped task with resume_task_id).',
          requestBody: body('DelegateInput'),
          responses: { '201': reply('The new task.', 'DelegateReply'), ...errors(400, 401, 413, 429, 503) },
        },
        get: {
          operationId: 'list',
          summary: "This session's tasks, oldest first, with counts per status.",
          parameters: [
            { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: TASK_STATUSES } },
          ],
          responses: { '200': reply('The tasks.', 'ListReply'), ...errors(400, 401) },
        },
      },
      '/v1/tasks/{id}': {
        get: {
          operationId: 'check',
          summary: 'A task now, without waiting.',
          parameters: [
            taskId,
            {
              name: 'preview_lines',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 0, maximum: bounds.maxPreviewLines },
            },
          ],
          responses: { '200': reply('The task.', 'CheckReply'), ...errors(400, 401, 404) },
        },
      },
      '/v1/tasks/{id}/collect': {
        post: {
          operationId: 'collect',
          summary: 'Wait for the task to end, at most timeout_seconds; timed_out says whether it did.',
          parameters: [taskId],
          requestBody: body('CollectInput', false),
          responses: {
            '200': reply('The task, finished or not.', 'CollectReply'),
            ...errors(400, 401, 404, 413),
          },
        },
      },
      '/v1/tasks/{id}/steer': {
        post: {
          operationId: 'steer',
          summary: 'Guidance for the agent, read at its next step (steering.delivered counts what landed).',
          parameters: [taskId],
          requestBody: body('SteerInput'),
          responses: { '200': reply('Queued.', 'SteerReply'), ...errors(400, 401, 404, 409, 413, 429) },
        },
      },
      '/v1/tasks/{id}/cancel': {
        post: {
          operationId: 'cancel',
          summary: 'Stop a queued or running task; answers once it ended, with its partial result.',
          parameters: [taskId],
          requestBody: body('CancelInput', false),
          responses: { '200': reply('Cancelled.', 'CancelReply'), ...errors(400, 401, 404, 409, 413) },
        },
      },
      '/v1/tasks/{id}/stream': {
        get: {
          operationId: 'stream',
          summary:
            'The output as Server-Sent Events: `id: <index>`, `event: line`, `data: {"index","text"}` for the ' +
            'buffered tail and then live lines, finally `event: end` with the terminal snapshot (the check ' +
            'shape). Send `Last-Event-ID: n` to resume after line n.',
          parameters: [
            taskId,
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              schema: { type: 'integer', minimum: -1 },
            },
          ],
          responses: { '200': sse('The stream.'), ...errors(400, 401, 404) },
        },
      },
      '/v1/events': {
        get: {
          operationId: 'events',
          summary:
            "This session's events as Server-Sent Events: task-start, task-output, steer-delivered, task-end " +
            '(JSON data); `event: shutdown` when the server stops.',
          responses: { '200': sse('The feed.'), ...errors(401) },
        },
      },
      '/v1/session': {
        get: {
          operationId: 'session',
          summary: 'The session this request acts in, and the ones its token may use.',
          responses: { '200': { description: 'The session.' }, ...errors(401) },
        },
      },
      '/v1/host': {
        get: {
          operationId: 'host',
          summary: "The serving process's event-loop delay, pool use and stream counts.",
          responses: { '200': { description: 'The report.' }, ...errors(401) },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        DelegateInput: json(inputs.delegate, 'input'),
        CollectInput: json(inputs.collect.omit({ task_id: true }), 'input'),
        SteerInput: json(inputs.steer.omit({ task_id: true }), 'input'),
        CancelInput: json(inputs.cancel.omit({ task_id: true }), 'input'),
        DelegateReply: json(replySchemas.delegate, 'output'),
        ListReply: json(replySchemas.list, 'output'),
        CheckReply: json(replySchemas.check, 'output'),
        CollectReply: json(replySchemas.collect, 'output'),
        SteerReply: json(replySchemas.steer, 'output'),
        CancelReply: json(replySchemas.cancel, 'output'),
        Error: json(errorSchema, 'output'),
      },
      responses: Object.fromEntries(
        [
          [400, 'invalid_input: a bad argument (named in the message).'],
          [401, 'unauthorized: no bearer token, or not one this server knows.'],
          [404, 'not_found: no such task in this session.'],
          [409, 'task_finished: the task already ended.'],
          [413, 'payload_too_large: the body is larger than the server takes.'],
          [429, 'limit_exceeded: a per-session, queue or steering limit is reached.'],
          [503, 'shutting_down: the server or the supervisor is closing.'],
        ].map(([status, description]) => [
          `E${status}`,
          { description, content: { 'application/json': { schema: ref('Error') } } },
        ]),
      ),
    },
  };
}
