import { z } from 'zod';
import { closest } from './suggest.js';

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: string[] };

/** Parses `input` with `schema`; on failure, one line per problem, each starting with its JSON path. */
export function validate<Schema extends z.ZodType>(schema: Schema, input: unknown): Validated<z.output<Schema>> {
  const result = schema.safeParse(input, { error: explain });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: [...new Set(result.error.issues.flatMap(lines))] };
}

function lines(issue: z.core.$ZodIssue): string[] {
  // One issue names every unknown key of an object; `explain` gave each key its own line.
  if (issue.code === 'unrecognized_keys') {
    const messages = issue.message.split('\n');
    return issue.keys.map((key, i) => `${pointer([...issue.path, key])}: ${messages[i] ?? 'unknown key'}`);
  }
  return [`${pointer(issue.path)}: ${issue.message}`];
}

/** A JSON Pointer (RFC 6901): `/rules/2/span`, `/` for the whole file. */
function pointer(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '/';
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

const TYPE_NAMES: Partial<Record<string, string>> = { int: 'integer' };

/** Our wording for zod's issues (schemas that bring their own message, such as durations, keep it). */
const explain: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return bound(issue.origin, issue.minimum, issue.inclusive, 'least', '>');
    case 'too_big':
      return bound(issue.origin, issue.maximum, issue.inclusive, 'most', '<');
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys': {
      const known = issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
      return issue.keys
        .map((key) => {
          const near = closest(key, known);
          return near === undefined ? 'unknown key' : `unknown key (did you mean "${near}"?)`;
        })
        .join('\n');
    }
    case 'invalid_union': {
      if (issue.discriminator === undefined || !('options' in issue) || !Array.isArray(issue.options)) return undefined;
      const expected = `(expected one of ${issue.options.join(', ')})`;
      const tag = isRecord(issue.input) ? issue.input[issue.discriminator] : undefined;
      if (tag === undefined) return `required ${expected}`;
      return typeof tag === 'string' ? `unknown type ${expected}` : `must be a string naming the type ${expected}`;
    }
    case 'invalid_key':
      // A record's key (an Alertmanager label name): its own check says what is wrong.
      return issue.issues[0]?.message ?? 'not a valid key';
    default:
      return undefined;
  }
};

function bound(origin: string, limit: number | bigint, inclusive: boolean | undefined, word: 'least' | 'most', sign: '>' | '<'): string {
  switch (origin) {
    case 'string':
      return word === 'least' && limit === 1 ? 'must not be empty' : `must be at ${word} ${limit} characters`;
    case 'array':
      return `must have at ${word} ${limit} item${limit === 1 ? '' : 's'}`;
    default:
      return `must be ${sign}${inclusive ? '=' : ''} ${limit}`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
