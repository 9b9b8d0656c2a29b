import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * The JSON Schema of cluster.config.json that `klaxon schema` prints and
 * schema/ publishes: the input side of configSchema (durations as written,
 * defaults shown), so editors can complete and check configs.
 */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, $id, title, description, ...rest } = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-07',
    override: ({ jsonSchema }) => {
      // z.int() states the safe-integer range on every integer; it says nothing to a person.
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  return { $schema, $id, title, description, ...rest };
}
