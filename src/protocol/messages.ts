/**
 * Every message between the coordinator and a shard worker. One task type per
 * `kind`; the worker switches on it exhaustively. Typed arrays and buffers
 * travel by structured clone (moved where the sender gives them up).
 */
import type { KlaxonConfig } from '../config/types.js';

/** What a worker is started with (piscina `workerData`). */
export interface ShardSetup {
  shard: number;
  shards: number;
  virtualNodes: number;
  rules: Pick<KlaxonConfig, 'window' | 'rules'>;
}

/** A batch of raw records for one shard: record i is bytes[ends[i-1] .. ends[i]). */
export interface ProcessTask {
  kind: 'process';
  bytes: Uint8Array;
  ends: Uint32Array;
  /** The ts a record without one gets (record timestamp or read time). */
  defaultTs: Float64Array;
}

export interface StatsTask {
  kind: 'stats';
}

export interface InspectTask {
  kind: 'inspect';
  zoneId: string;
}

export type ShardTask = ProcessTask | StatsTask | InspectTask;

export interface ProcessResult {
  kind: 'processed';
  /** Alert JSON texts in emission order, and the zone each belongs to (the output key). */
  alerts: string[];
  alertZones: string[];
  /** Indexes of rejected records and why. */
  rejected: number[];
  reasons: string[];
  /** Records whose zone this shard does not own (a record key that was not the zone_id). */
  misrouted: number[];
  misroutedZones: string[];
  accepted: number;
  firing: number;
  resolved: number;
  zones: number;
  /** Random per thread start: a change means the worker was replaced and lost its state. */
  incarnation: string;
}

export interface StatsResult {
  kind: 'stats';
  zones: number;
  accepted: number;
  bytesPerZone: number;
  heapUsed: number;
  incarnation: string;
}

export interface ZoneView {
  zoneId: string;
  seq: number;
  count: number;
  mean: number | null;
  std: number | null;
  maxPane: number | null;
  firing: string[];
}

export interface InspectResult {
  kind: 'inspect';
  zone: ZoneView | null;
}

export type ShardResult = ProcessResult | StatsResult | InspectResult;

export function assertNever(value: never): never {
  throw new Error(`unexpected message ${JSON.stringify(value)}`);
}
