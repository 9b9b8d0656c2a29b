import type { FiringRule } from '../protocol/messages.js';
import type { DeliveredAlert } from './alert.js';

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
export function recoveredDraft({ zoneId, rule, type, severity }: FiringRule, foundAtMs: number, context: DraftContext): AlertDraft {
  return {
    labels: labelsOf(zoneId, rule, severity, type, context),
    annotations: { summary: `${rule} (${type}) firing in zone ${zoneId} (found in the state restored after a restart)` },
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
