/** A reading that passed validation (contract §1). */
export interface Reading {
  zoneId: string;
  deviceId: string;
  temperature: number;
  ts: number;
}

/** Why a record was rejected; the wording is part of the dead-letter output. */
export const RejectReason = {
  notUtf8: 'not valid UTF-8',
  notJson: 'not valid JSON',
  notObject: 'not a JSON object',
  zoneId: 'zone_id: expected a string of 1..256 characters',
  deviceId: 'device_id: expected a string of 1..256 characters',
  temperature: 'temperature: expected a finite number',
  ts: 'ts: expected an integer of milliseconds',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];
