import { SinkError } from '../errors.js';

/** A destination as logs, errors and metrics may name it: scheme, host and port; never credentials, path or query. */
export function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(an invalid URL)';
  }
}

/** A URL's user and password (fetch refuses them in the URL) become a Basic Authorization header. */
export function splitCredentials(url: string): { url: string; headers: Record<string, string> } {
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return { url, headers: {} };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

/** Statuses worth trying again: the receiver is busy or failing, not refusing what it got. */
function retriableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

const MAX_ERROR_TEXT = 200;

/**
 * POSTs a JSON body; resolves on a 2xx answer. Anything else rejects with a
 * SinkError that names only the redacted destination and is `retriable` for
 * network errors, timeouts, 408, 429 and 5xx. An abort of `signal` (the
 * delivery closing) rejects with the signal's reason.
 */
export async function postJson(url: string, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const where = redactUrl(url);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'klaxon', ...headers },
      // A redirect would turn the POST into a GET elsewhere: the configured URL is wrong, say so.
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    // The cause is left out: only its code or message travels, so nothing of the request can leak into logs.
    throw new SinkError(timedOut ? `${where}: no answer within ${timeoutMs} ms` : `${where}: ${networkReason(error)}`, { retriable: true });
  }
  // Read the body either way: an unread body holds the connection.
  const text = await response.text().catch(() => '');
  if (response.ok) return;
  const said = text.trim().slice(0, MAX_ERROR_TEXT);
  const status = response.status >= 300 && response.status < 400 ? `${response.status} (a redirect: configure the final URL)` : String(response.status);
  throw new SinkError(`${where} answered ${status}${said === '' ? '' : `: ${said}`}`, { retriable: retriableStatus(response.status) });
}

function networkReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
