/** What a snapshot's meaning depends on: a snapshot made under another identity is refused, never misread. */
export interface SnapshotIdentity {
  /** The zone image layout version (engine/zone-image.ts). */
  format: number;
  /** A fingerprint of what the zone statistics depend on: the window (contract §7.1), never the rules. */
  fingerprint: string;
  /** That window, for messages and for `klaxon rules apply` ("state retains R panes"). */
  window: { size: number; paneMs: number; retain: number };
}
