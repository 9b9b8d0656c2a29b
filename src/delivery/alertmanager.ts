import type { AlertmanagerConfig, RuleVersion } from '../config/types.js';
import type { FiringRule } from '../protocol/messages.js';
import type { DeliveredAlert } from './alert.js';
import { type AlertDraft, type DraftContext, draftOf, firing, type PostableAlert, recoveredDraft, resolved } from './alertmanager-alerts.js';
import { Delivery, type Transport } from './delivery.js';
import { type AlertFilter, alertFilter } from './filter.js';
import { postJson, redactUrl, splitCredentials } from './http-post.js';
import type { AlertSink } from './types.js';

/**
 * Prometheus sends a firing alert again every `--rules.alert.resend-delay`
 * (default 1m) and makes it valid until 4 × max(resend delay, evaluation
 * interval) from then, "to allow for two Eval or Alertmanager send failures"
 * (rules/alerting.go, sendAlerts). Klaxon does the same with resendInterval.
 */
const VALIDITY_INTERVALS = 4;

/** What goes into a target's queue: an alert as it happened, or a FIRING one to send again as it is now. */
type Item = { kind: 'firing'; draft: AlertDraft } | { kind: 'resolved'; draft: AlertDraft; endsAtMs: number } | { kind: 'current'; key: string };

/** A zone's rule as this sink follows it, FIRING or (for a while, to refuse late older alerts) resolved. */
interface Followed {
  partition: number;
  /** Seq of the zone's latest alert for the rule (or its seq when found in a restored state). */
  seq: number;
  firing: boolean;
  draft: AlertDraft;
  /** Wall-clock ms when it resolved: forgotten one resend interval later. */
  resolvedAt: number;
}

export interface AlertmanagerOptions {
  /** The rule set versions known now (they grow while the engine runs): which rules of an alert's version are in mode `every`. */
  versions: () => readonly RuleVersion[];
  dashboardUrl?: string | undefined;
  /** Wall-clock ms (tests move it). */
  now?: () => number;
}

/**
 * Alerts to an Alertmanager cluster: every alert to each Alertmanager, each
 * through its own queue, so one that is down holds back none of the others.
 * It follows which rules are FIRING in which zones and sends those again
 * every resendInterval, valid for four intervals, so an Alertmanager that
 * restarted (it keeps alerts only in memory) or missed a batch has them again
 * within one interval, and one whose resolve was lost lets them expire. After
 * an engine restart it learns what is FIRING from the restored zones and the
 * replayed records. Alerts of `every` rules are sent as they come and expire.
 */
export class AlertmanagerSink implements AlertSink {
  readonly name: string;
  readonly targets: readonly Delivery<Item>[];
  private readonly accepts: AlertFilter;
  private readonly versions: () => readonly RuleVersion[];
  /** Ids of the `every` rules by version number (a published version never changes). */
  private readonly everyRules = new Map<number, ReadonlySet<string>>();
  private readonly context: DraftContext;
  private readonly followed = new Map<string, Followed>();
  private readonly now: () => number;
  private readonly validForMs: number;
  private readonly timer: NodeJS.Timeout;
  private soon: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AlertmanagerConfig,
    options: AlertmanagerOptions,
  ) {
    this.name = config.name;
    this.accepts = alertFilter(config.filter);
    this.versions = options.versions;
    this.context = { labels: config.labels, dashboardUrl: options.dashboardUrl };
    this.now = options.now ?? Date.now;
    this.validForMs = VALIDITY_INTERVALS * config.resendIntervalMs;
    this.targets = config.urls.map((url) => new Delivery({ ...config, sink: config.name, target: redactUrl(url) }, this.transport(url)));
    this.timer = setInterval(() => this.resendFiring(), config.resendIntervalMs);
    this.timer.unref();
  }

  deliver(partition: number, alerts: readonly DeliveredAlert[]): void {
    const items: Item[] = [];
    for (const alert of alerts) {
      const item = this.follow(partition, alert);
      if (item !== undefined) items.push(item);
    }
    for (const target of this.targets) target.enqueue(items);
  }

  restate(partition: number, alerts: readonly DeliveredAlert[]): void {
    for (const alert of alerts) this.follow(partition, alert);
  }

  recovered(partition: number, rules: readonly FiringRule[]): void {
    const foundAt = this.now();
    // Only edge rules keep a FIRING state, so each of these will be resolved by a later alert.
    for (const found of rules) {
      if (!this.accepts({ ...found, status: 'firing' })) continue;
      const key = keyOf(found.zoneId, found.rule);
      const known = this.followed.get(key);
      if (known !== undefined && known.seq >= found.seq) continue;
      this.followed.set(key, { partition, seq: found.seq, firing: true, draft: recoveredDraft(found, foundAt, this.context), resolvedAt: 0 });
    }
    // Several partitions arrive together at a start: one early round for all of them.
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      this.resendFiring();
    }, 0);
  }

  revoked(partitions: readonly number[]): void {
    const gone = new Set(partitions);
    for (const [key, followed] of this.followed) if (gone.has(followed.partition)) this.followed.delete(key);
  }

  async ready(): Promise<void> {
    await Promise.all(this.targets.map((target) => target.ready()));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await Promise.all(this.targets.map((target) => target.close()));
  }

  /** Whether the alert's rule is in mode `every` under the version that raised it (those alerts have no resolve: not followed). */
  private isEvery(alert: DeliveredAlert): boolean {
    let every = this.everyRules.get(alert.version);
    if (every === undefined) {
      const version = this.versions().find((v) => v.version === alert.version);
      if (version === undefined) return false;
      every = new Set(version.rules.filter((rule) => rule.mode === 'every').map((rule) => rule.id));
      this.everyRules.set(alert.version, every);
    }
    return every.has(alert.rule);
  }

  /** Updates what is followed; returns what to send (nothing for a filtered-out or stale alert). */
  private follow(partition: number, alert: DeliveredAlert): Item | undefined {
    if (!this.accepts(alert)) return undefined;
    if (this.isEvery(alert)) return alert.status === 'firing' ? { kind: 'firing', draft: draftOf(alert, this.context) } : undefined;
    const key = keyOf(alert.zoneId, alert.rule);
    const known = this.followed.get(key);
    // An older alert of the zone than one already seen (a replay, or outputs written out of order) changes nothing.
    if (known !== undefined && known.seq >= alert.seq) return undefined;
    if (alert.status === 'firing') {
      const draft = draftOf(alert, this.context);
      this.followed.set(key, { partition, seq: alert.seq, firing: true, draft, resolvedAt: 0 });
      return { kind: 'firing', draft };
    }
    // Resolved as it fired: same labels, start and description; only the end is new.
    const draft = known?.firing ? known.draft : draftOf(alert, this.context);
    this.followed.set(key, { partition, seq: alert.seq, firing: false, draft, resolvedAt: this.now() });
    return { kind: 'resolved', draft, endsAtMs: alert.ts };
  }

  /** Queues every FIRING rule at every target again, and forgets rules resolved a while ago. */
  private resendFiring(): void {
    const now = this.now();
    const keys: string[] = [];
    for (const [key, followed] of this.followed) {
      if (followed.firing) keys.push(key);
      else if (now - followed.resolvedAt > this.config.resendIntervalMs) this.followed.delete(key);
    }
    for (const target of this.targets) target.resend(keys.map((key) => ({ kind: 'current', key })));
  }

  private transport(base: string): Transport<Item> {
    const { url, headers: fromUrl } = splitCredentials(base);
    // The configured URL is the Alertmanager's base (with its path prefix, if any).
    const endpoint = `${url.replace(/\/+$/, '').replace(/\/api\/v2\/alerts$/, '')}/api/v2/alerts`;
    const headers = { ...fromUrl, ...this.config.headers };
    return {
      send: async (items, signal) => {
        const alerts = this.postable(items);
        if (alerts.length > 0) await postJson(endpoint, JSON.stringify(alerts), headers, this.config.timeoutMs, signal);
      },
    };
  }

  /** Items as Alertmanager gets them, built at each attempt: a FIRING alert's end moves with the clock. */
  private postable(items: readonly Item[]): PostableAlert[] {
    const now = this.now();
    const out: PostableAlert[] = [];
    for (const item of items) {
      if (item.kind === 'firing') out.push(firing(item.draft, now, this.validForMs));
      else if (item.kind === 'resolved') out.push(resolved(item.draft, item.endsAtMs));
      else {
        const followed = this.followed.get(item.key);
        if (followed?.firing) out.push(firing(followed.draft, now, this.validForMs));
      }
    }
    return out;
  }
}

function keyOf(zoneId: string, rule: string): string {
  return `${zoneId}\u0000${rule}`;
}
