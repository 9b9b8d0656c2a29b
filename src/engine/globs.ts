/**
 * Zone globs (contract §7.3): `*` any run of characters, `?` one character,
 * everything else literal, no escapes; a pattern matches a whole zone_id, a
 * character being a Unicode code point. Compiled once per rule into one
 * regular expression (the `u` flag makes `.` a code point, `s` lets it match
 * line breaks too, which zone ids may hold).
 */
export type ZoneMatcher = (zoneId: string) => boolean;

const SPECIAL = /[\\^$.|+()[\]{}/]/g;

function patternSource(pattern: string): string {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(SPECIAL, '\\$&');
  }
  return source;
}

/** A matcher for "any of these patterns"; an empty list matches nothing. */
export function compileGlobs(patterns: readonly string[]): ZoneMatcher {
  if (patterns.length === 0) return () => false;
  const re = new RegExp(`^(?:${patterns.map(patternSource).join('|')})$`, 'su');
  return (zoneId) => re.test(zoneId);
}
