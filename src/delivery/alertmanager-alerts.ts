import type { Rule } from '../config/types.js';
import { DEFAULT_SEVERITY, type DeliveredAlert } from './alert.js';

/**
 * Klaxon alerts as Alertmanager alerts (API v2, `POST /api/v2/alerts`, a list
 * of postableAlert). Pure: the sink decides when, this decides what.
 */

/** What Alertmanager gets for one alert. Its identity is the label set. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** An alert before it is sent: everything but `endsAt`, which depends on when it is sent. */
export interface AlertDraft {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** ms since the epoch. */
  startsAtMs: number;
  generatorURL?: string;
}

/** What a sink knows of each rule: for alerts recovered from zone flags (rule id only) and for `every` rules. */
export interface RuleInfo {
  type: string;
  /** Mode `every`: no resolve ever comes; its alerts are not followed. */
  every: boolean;
  severity: string;
}

export function ruleInfo(rules: readonly Rule[]): Map<string, RuleInfo> {
  return new Map(
    rules.map((rule) => [
      rule.id,
      {
        type: rule.type,
        every: rule.mode === 'every',
        // Rules will carry a severity (live rule versions), as their alerts will; until then every rule is a warning.
        severity: 'severity' in rule && typeof rule.severity === 'string' ? rule.severity : DEFAULT_SEVERITY,
      },
    ]),
  );
}

export interface DraftContext {
  /** Static labels from the config (they never replace the four below). */
  labels: Readonly<Record<string, string>>;
  /** The dashboard's base URL, when it is served: each alert links to its zone there. */
  dashboardUrl: string | undefined;
}

function labelsOf(zoneId: string, rule: string, severity: string, type: string, context: DraftContext): Record<string, string> {
  return { ...context.labels, alertname: rule, zone_id: zoneId, severity, rule_type: type };
}

function zoneLink(zoneId: string, context: DraftContext): { generatorURL?: string } {
  // The dashboard selects a zone from its query string (see src/observe/dashboard/app.js).
  return context.dashboardUrl === undefined ? {} : { generatorURL: `${context.dashboardUrl.replace(/\/+$/, '')}/?zone=${encodeURIComponent(zoneId)}` };
}

/** The draft of an alert the engine emitted: starts at its reading's ts. */
export function draftOf(alert: DeliveredAlert, context: DraftContext): AlertDraft {
  const verb = alert.status === 'firing' ? 'fired' : 'resolved';
  return {
    labels: labelsOf(alert.zoneId, alert.rule, alert.severity, alert.type, context),
    annotations: {
      summary: `${alert.rule} (${alert.type}) ${verb} in zone ${alert.zoneId} at ${alert.value}`,
      value: String(alert.value),
      details: JSON.stringify(alert.details),
      alert_id: alert.alertId,
    },
    startsAtMs: alert.ts,
    ...zoneLink(alert.zoneId, context),
  };
}

/**
 * The draft of a rule found FIRING in a zone's restored state, which keeps no
 * time: it starts when it was found. Alertmanager keeps the earlier start it
 * may still hold: when a re-sent alert's activity overlaps the one it has,
 * it merges them, "always pick[ing] the earliest starting time"
 * (Alert.Merge in types/types.go, called from provider/mem Put, v0.25).
 */
export function recoveredDraft(zoneId: string, rule: string, info: RuleInfo, foundAtMs: number, context: DraftContext): AlertDraft {
  return {
    labels: labelsOf(zoneId, rule, info.severity, info.type, context),
    annotations: { summary: `${rule} (${info.type}) firing in zone ${zoneId} (found in the state restored after a restart)` },
    startsAtMs: foundAtMs,
    ...zoneLink(zoneId, context),
  };
}

/** Largest time a Date holds (ms since the epoch); a reading's ts may exceed it. */
const MAX_DATE_MS = 8.64e15;

function iso(ms: number): string {
  return new Date(Math.min(Math.max(ms, 0), MAX_DATE_MS)).toISOString();
}

/**
 * Active until `now + validForMs` (moved forward at every re-send, as
 * Prometheus moves ValidUntil), and never ending before it starts: Alertmanager
 * refuses an alert whose end is before its start.
 */
export function firing(draft: AlertDraft, now: number, validForMs: number): PostableAlert {
  const { startsAtMs, ...rest } = draft;
  return { ...rest, startsAt: iso(startsAtMs), endsAt: iso(Math.max(now, startsAtMs) + validForMs) };
}

/** Resolved at the resolving reading's ts (not before its start: readings may arrive late). */
export function resolved(draft: AlertDraft, endsAtMs: number): PostableAlert {
  const { startsAtMs, ...rest } = draft;
  return { ...rest, startsAt: iso(startsAtMs), endsAt: iso(Math.max(endsAtMs, startsAtMs)) };
}
