import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SinkError } from '../errors.js';

/** A destination as logs, errors and metrics may name it: scheme, host and port; never credentials, path or query. */
export function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(an invalid URL)';
  }
}

/** A URL's user and password become a Basic Authorization header (and leave the URL, which is logged redacted anyway). */
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
/** An answer's body is read (the connection is reused only once it is), but kept only this far. */
const MAX_BODY_BYTES = 64 << 10;

/**
 * Keep-alive connections, one pool per scheme for the process. node:http, not
 * fetch: measured on this machine, a POST cost ~0.4 ms of CPU through fetch
 * and ~0.05 ms through http.request (a receiver taking 2,000 batches a second
 * would otherwise cost the engine most of a core). Idle sockets do not keep
 * the process alive.
 */
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

/**
 * POSTs a JSON body; resolves on a 2xx answer. Anything else rejects with a
 * SinkError that names only the redacted destination and is `retriable` for
 * network errors, timeouts, 408, 429 and 5xx; a redirect is refused (it
 * would turn the POST into a GET elsewhere: the configured URL is wrong). An
 * abort of `signal` (the delivery closing) rejects with the signal's reason.
 */
export function postJson(url: string, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const where = redactUrl(url);
  if (signal.aborted) return Promise.reject(signal.reason);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const payload = Buffer.from(body, 'utf8');
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const request = send(
      target,
      {
        method: 'POST',
        agent: target.protocol === 'https:' ? agents['https:'] : agents['http:'],
        headers: { 'content-type': 'application/json', 'user-agent': 'klaxon', ...headers, 'content-length': payload.length },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < MAX_BODY_BYTES) text += chunk;
        });
        response.on('error', () => finish(new SinkError(`${where}: the answer broke off`, { retriable: true })));
        response.on('end', () => {
          if (status >= 200 && status < 300) return finish();
          const said = text.trim().slice(0, MAX_ERROR_TEXT);
          const shown = status >= 300 && status < 400 ? `${status} (a redirect: configure the final URL)` : String(status);
          finish(new SinkError(`${where} answered ${shown}${said === '' ? '' : `: ${said}`}`, { retriable: retriableStatus(status) }));
        });
      },
    );
    // The whole exchange, not only silences between packets: a receiver that drips its answer is still too slow.
    timer = setTimeout(() => {
      finish(new SinkError(`${where}: no answer within ${timeoutMs} ms`, { retriable: true }));
      request.destroy();
    }, timeoutMs);
    const onAbort = () => {
      finish(signal.reason);
      request.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // Only the error's code or message travels, never the request: nothing of it can leak into logs.
    request.on('error', (error: NodeJS.ErrnoException) => finish(new SinkError(`${where}: ${error.code ?? error.message}`, { retriable: true })));
    request.end(payload);
  });
}
