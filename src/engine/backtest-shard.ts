import type { AlertStatus } from '../model/alert.js';
import type { AlertRule, PlannedRule, WindowPlan } from '../model/plan.js';
import type { Reading } from '../model/reading.js';
import type { BacktestAlert, BacktestResult, BacktestSetup, BacktestTask, ShardSetup } from '../protocol/messages.js';
import { HashRing } from '../sharding/ring.js';
import { formatAlert } from './alert.js';
import { type AlertEmitter, addReading, evaluateRules, StatsMemo } from './evaluate.js';
import { compileGlobs, type ZoneMatcher } from './globs.js';
import { planWindow } from './plan.js';
import { isRejection } from './reading.js';
import { RecordReading, readRecord } from './reading-scan.js';
import { RuleBook } from './rule-book.js';
import { emptyRuleStates, type RuleStates } from './rule-state.js';
import { ZoneState } from './zone-state.js';

/** A zone of a backtest: its statistics with the candidate's rule states, and the baseline's states beside them. */
interface BacktestZone {
  zone: ZoneState;
  baseline: RuleStates;
}

const NO_ALERTS: AlertEmitter = () => {};

function backtestAlert(
  record: number,
  baseline: boolean,
  reading: Reading,
  seq: number,
  rule: AlertRule,
  status: AlertStatus,
  removed: boolean,
  text: string,
  twin = false,
): BacktestAlert {
  return {
    record,
    baseline,
    twin,
    zoneId: reading.zoneId,
    rule: rule.id,
    firing: status === 'firing',
    removed,
    every: (rule as Partial<PlannedRule>).every === true,
    shadow: rule.shadow,
    seq,
    ts: reading.ts,
    text,
  };
}

/**
 * The zones one worker owns in a backtest (`klaxon backtest`): each reading
 * is evaluated under the candidate rule set and the baseline rule set, each
 * with its own rule states, over one set of zone statistics (they depend on
 * the window only, contract §7.1), then added once. Nothing is snapshotted:
 * a backtest keeps no state beyond the run.
 */
export class BacktestShard {
  private readonly window: WindowPlan;
  private readonly candidate: RuleBook;
  private readonly baseline: RuleBook | undefined;
  /** null: a zone left out by the zone globs (decided once per zone). */
  private readonly zones = new Map<string, BacktestZone | null>();
  private readonly wanted: ZoneMatcher;
  private readonly ring: HashRing;
  private readonly shard: number;
  private readonly range: BacktestSetup;
  private evaluatedZones = 0;
  /** Statistics asked for by the candidate's rules, answered again for the baseline's. */
  private readonly memo = new StatsMemo();
  /** The record being evaluated, as a reading (reused). */
  private readonly reading = new RecordReading();

  constructor(setup: ShardSetup, range: BacktestSetup) {
    this.window = planWindow(setup.rules.window);
    this.candidate = new RuleBook(setup.rules.versions, setup.rules.window.paneMs);
    this.baseline = range.baseline === undefined ? undefined : new RuleBook(range.baseline, setup.rules.window.paneMs);
    this.wanted = range.zones === undefined ? () => true : compileGlobs(range.zones);
    this.ring = new HashRing(setup.shards, setup.virtualNodes);
    this.shard = setup.shard;
    this.range = range;
  }

  /** Zones evaluated (not those the zone globs leave out). */
  get zoneCount(): number {
    return this.evaluatedZones;
  }

  process(task: BacktestTask): BacktestResult {
    const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
    const result: BacktestResult = {
      kind: 'backtested',
      alerts: [],
      rejected: [],
      counted: 0,
      warmup: 0,
      skipped: 0,
      minTs: Number.POSITIVE_INFINITY,
      maxTs: Number.NEGATIVE_INFINITY,
      zones: 0,
    };
    let record = 0;
    /** Where the current reading's alerts start in result.alerts (the candidate's come first). */
    let readingStart = 0;
    const candidateAlerts: AlertEmitter = (reading, seq, rule, status, details, removed) => {
      result.alerts.push(backtestAlert(record, false, reading, seq, rule, status, removed, formatAlert(reading, seq, rule, status, details, removed)));
    };
    // A baseline alert with a twin among the candidate's for the same reading (same rule, status and removal) is in
    // both: only its figures are needed, so its text is not even made (most baseline alerts, for a change of one rule).
    const baselineAlerts: AlertEmitter = (reading, seq, rule, status, details, removed) => {
      const firing = status === 'firing';
      const alerts = result.alerts;
      let twin: BacktestAlert | undefined;
      for (let i = readingStart; i < alerts.length && twin === undefined; i++) {
        const other = alerts[i] as BacktestAlert;
        if (!other.baseline && !other.twin && other.rule === rule.id && other.firing === firing && other.removed === removed) twin = other;
      }
      if (twin !== undefined) twin.twin = true;
      const text = twin === undefined ? formatAlert(reading, seq, rule, status, details, removed) : '';
      alerts.push(backtestAlert(record, true, reading, seq, rule, status, removed, text, twin !== undefined));
    };
    const { from, until, countFrom } = this.range;
    for (let i = 0; i < task.ends.length; i++) {
      const parsed = readRecord(bytes, task.starts[i] as number, task.ends[i] as number, task.defaultTs[i] as number, this.reading);
      if (isRejection(parsed)) {
        result.rejected.push({ record: task.records[i] as number, reason: parsed });
        continue;
      }
      const ts = parsed.ts;
      const entry = ts < from || ts >= until ? null : this.zoneOf(parsed.zoneId);
      if (entry === null) {
        result.skipped++;
        continue;
      }
      record = task.records[i] as number;
      readingStart = result.alerts.length;
      const counts = !task.warmup && ts >= countFrom;
      if (counts) {
        result.counted++;
        if (ts < result.minTs) result.minTs = ts;
        if (ts > result.maxTs) result.maxTs = ts;
      } else {
        result.warmup++;
      }
      if (this.baseline === undefined) evaluateRules(entry.zone, entry.zone, parsed, this.window, this.candidate, counts ? candidateAlerts : NO_ALERTS);
      else {
        evaluateRules(entry.zone, entry.zone, parsed, this.window, this.candidate, counts ? candidateAlerts : NO_ALERTS, this.memo);
        evaluateRules(entry.zone, entry.baseline, parsed, this.window, this.baseline, counts ? baselineAlerts : NO_ALERTS, this.memo);
      }
      addReading(entry.zone, parsed, this.window);
    }
    result.zones = this.evaluatedZones;
    return result;
  }

  private zoneOf(zoneId: string): BacktestZone | null {
    let entry = this.zones.get(zoneId);
    if (entry === undefined) {
      // As in Shard: state is only ever created by its owner; a miss is a routing bug, never bad input.
      if (this.ring.ownerOf(zoneId) !== this.shard) {
        throw new Error(`worker ${this.shard} got a reading of zone ${JSON.stringify(zoneId)}, which worker ${this.ring.ownerOf(zoneId)} owns`);
      }
      entry = this.wanted(zoneId) ? { zone: new ZoneState(this.window), baseline: emptyRuleStates() } : null;
      this.zones.set(zoneId, entry);
      if (entry !== null) this.evaluatedZones++;
    }
    return entry;
  }
}
