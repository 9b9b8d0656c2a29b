/** What a snapshot's meaning depends on: a snapshot made under another identity is refused, never misread. */
export interface SnapshotIdentity {
  /** The zone image layout version (engine/zone-image.ts). */
  format: number;
  /** A fingerprint of what the zone state depends on. */
  fingerprint: string;
}
