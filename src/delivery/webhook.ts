import { createHmac } from 'node:crypto';
import type { WebhookConfig } from '../config/types.js';
import type { DeliveredAlert } from './alert.js';
import { Delivery, type Transport } from './delivery.js';
import { type AlertFilter, alertFilter } from './filter.js';
import { postJson, redactUrl, splitCredentials } from './http-post.js';
import type { AlertSink } from './types.js';

export const SIGNATURE_HEADER = 'x-klaxon-signature';

/** The signature header's value for a body: `sha256=` and the hex HMAC-SHA256 of the body's UTF-8 bytes under `secret`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** A batch's body: `{"alerts":[…]}`, each alert exactly as the record sink holds it (with its alert_id). */
export function webhookBody(texts: readonly string[]): string {
  return `{"alerts":[${texts.join(',')}]}`;
}

/**
 * POSTs batches of alerts as JSON to one URL: `{"alerts": [...]}`, each alert
 * the contract's object with its `alert_id`, so a receiver can drop the
 * repeats that retries (and at-least-once replays) bring. With a secret, each
 * body is signed (X-Klaxon-Signature: sha256=<hex>). Credentials (the secret,
 * headers, a user and password in the URL) appear in no log, error or metric.
 */
export class WebhookSink implements AlertSink {
  readonly name: string;
  readonly targets: readonly Delivery<string>[];
  private readonly delivery: Delivery<string>;
  private readonly accepts: AlertFilter;

  constructor(config: WebhookConfig) {
    this.name = config.name;
    this.accepts = alertFilter(config.filter);
    const { url, headers: fromUrl } = splitCredentials(config.url);
    const headers = { ...fromUrl, ...config.headers };
    const { secret, timeoutMs } = config;
    const transport: Transport<string> = {
      send(texts, signal) {
        const body = webhookBody(texts);
        return postJson(url, body, secret === undefined ? headers : { ...headers, [SIGNATURE_HEADER]: signature(secret, body) }, timeoutMs, signal);
      },
    };
    this.delivery = new Delivery({ ...config, sink: config.name, target: redactUrl(config.url) }, transport);
    this.targets = [this.delivery];
  }

  deliver(_partition: number, alerts: readonly DeliveredAlert[]): void {
    const texts: string[] = [];
    for (const alert of alerts) if (this.accepts(alert)) texts.push(alert.text);
    this.delivery.enqueue(texts);
  }

  ready(): Promise<void> {
    return this.delivery.ready();
  }

  close(): Promise<void> {
    return this.delivery.close();
  }
}
