import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import type { DeliveryFilter } from '../../../src/config/types.js';
import { DEFAULT_SEVERITY, parseDelivered } from '../../../src/delivery/alert.js';
import { alertFilter, type FilteredAlert, zoneGlobs } from '../../../src/delivery/filter.js';

const alert = (over: Partial<FilteredAlert> = {}): FilteredAlert => ({
  zoneId: 'plant-1/line-2',
  rule: 'too-hot',
  severity: 'warning',
  status: 'firing',
  ...over,
});

/** The filter as the config declares it, so what is tested is what a config file gets. */
function filterOf(filter: Record<string, unknown>): DeliveryFilter {
  const config = parseConfig(
    {
      source: { type: 'stdin' },
      sinks: [{ type: 'stdout' }, { type: 'webhook', url: 'http://127.0.0.1:1', filter }],
      rules: [{ id: 't', type: 'threshold', above: 1 }],
    },
    { baseDir: '/', env: {} },
  );
  const delivery = config.deliveries[0];
  assert.ok(delivery?.filter !== undefined);
  return delivery.filter;
}

describe('zone globs', () => {
  test('* is any run (none included), ? exactly one character, matched against the whole zone_id', () => {
    const globs = zoneGlobs(['plant-1/*', 'z?']);
    for (const zone of ['plant-1/', 'plant-1/line-2', 'plant-1/a/b', 'z1', 'zz']) assert.ok(globs.test(zone), zone);
    for (const zone of ['plant-10/line', 'xplant-1/line', 'z', 'z12', 'Z1']) assert.ok(!globs.test(zone), zone);
  });

  test('every other character is itself: dots, brackets, plus and backslashes match only themselves', () => {
    const globs = zoneGlobs(['a.b[1]+(c)|d\\e$^{2}']);
    assert.ok(globs.test('a.b[1]+(c)|d\\e$^{2}'));
    assert.ok(!globs.test('axb[1]+(c)|d\\e$^{2}'), 'a dot is not a wildcard');
    assert.ok(!globs.test('a.b1+(c)|d\\e$^{2}'));
  });

  test('? is one character, an emoji included; * crosses line breaks (a zone_id may hold any character)', () => {
    assert.ok(zoneGlobs(['room-?']).test('room-🔥'));
    assert.ok(zoneGlobs(['a*b']).test('a\nb'));
  });

  test('no escapes: a literal * or ? in a zone_id is matched by the wildcard', () => {
    assert.ok(zoneGlobs(['what?']).test('what?'));
    assert.ok(zoneGlobs(['what?']).test('whats'));
  });
});

describe('alert filters', () => {
  test('no filter: every alert', () => {
    assert.ok(alertFilter(undefined)(alert()));
  });

  test('each criterion given must match; within one, any of its values', () => {
    const accepts = alertFilter(filterOf({ severity: ['critical', 'warning'], rules: ['too-hot'], zones: ['plant-1/*'], status: ['firing'] }));
    assert.ok(accepts(alert()));
    assert.ok(accepts(alert({ severity: 'critical' })));
    assert.ok(!accepts(alert({ severity: 'info' })), 'severity');
    assert.ok(!accepts(alert({ rule: 'outlier' })), 'rule');
    assert.ok(!accepts(alert({ zoneId: 'plant-2/line-1' })), 'zone');
    assert.ok(!accepts(alert({ status: 'resolved' })), 'status');
  });

  test('criteria left out do not filter', () => {
    const accepts = alertFilter(filterOf({ status: ['resolved'] }));
    assert.ok(accepts(alert({ status: 'resolved', rule: 'anything', zoneId: 'anywhere', severity: 'critical' })));
    assert.ok(!accepts(alert({ status: 'firing' })));
  });

  test('an alert without a severity counts as a warning', () => {
    const text = '{"alert_id":"z:t:1","zone_id":"z","device_id":"d","rule":"t","type":"threshold","status":"firing","value":95,"ts":1,"seq":1,"details":{}}';
    const parsed = parseDelivered(text);
    assert.equal(parsed?.severity, DEFAULT_SEVERITY);
    assert.equal(DEFAULT_SEVERITY, 'warning');
    assert.ok(alertFilter(filterOf({ severity: ['warning'] }))(parsed as FilteredAlert));
    assert.ok(!alertFilter(filterOf({ severity: ['critical'] }))(parsed as FilteredAlert));
    assert.equal(parseDelivered(text.replace('"details":{}', '"details":{},"severity":"critical"'))?.severity, 'critical');
  });

  test('text that is not an alert is skipped, not thrown', () => {
    assert.equal(parseDelivered('not json'), undefined);
    assert.equal(parseDelivered('[1,2]'), undefined);
    assert.equal(parseDelivered('null'), undefined);
  });
});
