/**
 * Credentials never reach a log line, an error message or a metric: a URL
 * with a password (redis://:secret@host:6379) is shown with `****` in its place.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '****';
    return parsed.toString();
  } catch {
    // Not a URL at all: it may still hold a secret in "user:password@host" form.
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:****@');
  }
}
