import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './durations.js';

/** Field schemas shared by the config (schema.ts) and the rule sets (rules-schema.ts). */

const DURATION_FORMS = 'or a string such as "500ms", "10s", "5m", "1h"';
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Whole milliseconds or a string with a unit; normalises to whole milliseconds. */
export function duration(minimum: 0 | 1, description: string) {
  const least = minimum === 1 ? ' (at least 1)' : '';
  const message = `must be a duration: whole milliseconds${least}, ${DURATION_FORMS}`;
  return z
    .union([z.int(message).min(minimum, message), z.string(message).regex(DURATION_RE, message)], message)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.issues.push({ code: 'custom', input: value, message: `${JSON.stringify(value)} is not a whole number of milliseconds` });
        return z.NEVER;
      }
      if (ms < minimum) {
        ctx.issues.push({ code: 'custom', input: value, message });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: `${description} Milliseconds${least}, ${DURATION_FORMS}.` });
}

export const text = z.string().min(1);

export const mode = z.enum(['edge', 'every']);
export const modeDescription =
  '"edge": one alert when a zone starts breaking the rule and one when it stops. "every": an alert for each reading that breaks it.';
