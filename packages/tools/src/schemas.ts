import { z } from 'zod';

/**
 * JSON Schema for a tool's arguments, in the form both OpenAI strict function calling and Anthropic's
 * `input_schema` accept: an object, every property listed in `required` (optional ones admit `null`), and no
 * additional properties.
 */
export function toParameters(schema: z.ZodObject): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  json.required = Object.keys((json.properties as Record<string, unknown> | undefined) ?? {});
  json.additionalProperties = false;
  return json;
}
