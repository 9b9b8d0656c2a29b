/**
 * Contract v2 (§7) in one worker, in-process: versions by event time,
 * scopes, overrides, for, hysteresis, shadow, removals; checked against the
 * reference model on random rule sets, across snapshots, with versions
 * arriving while the worker runs, and on small scenarios whose every alert
 * is written out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { RuleVersion } from '../../../src/config/types.js';
import { compileGlobs } from '../../../src/engine/globs.js';
import { compareCodePoints } from '../../../src/engine/rule-state.js';
import { Shard } from '../../../src/engine/shard.js';
import { applyUpdate, unpackUpdates } from '../../../src/engine/zone-image.js';
import { linesTask } from '../../../src/protocol/messages.js';
import { assertSameAlerts } from '../../helpers/compare.js';
import { referenceAlerts } from '../../helpers/reference.js';
import { randomRuleSets } from '../../helpers/rule-sets.js';
import { rulesConfig, shardSetup } from '../../helpers/rules.js';
import { randomStream } from '../../helpers/streams.js';

type Alert = Record<string, unknown>;

const parsed = (shard: Shard, lines: readonly string[]): Alert[] => shard.process(linesTask(lines)).alerts.map((a) => JSON.parse(a.text) as Alert);

function randomCase(seed: number, count: number, versions: number) {
  const paneMs = [100, 250, 1_000][seed % 3] as number;
  const lines = randomStream({ seed, lines: count, zones: 5, paneMs });
  const rules = rulesConfig(randomRuleSets({ seed, paneMs, lines, versions }));
  return { lines, rules };
}

describe('random v2 rule sets', () => {
  test('one worker matches the reference (versions, scopes, overrides, for, hysteresis, shadow, removals)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 100, max: 900 }), fc.integer({ min: 1, max: 5 }), (seed, count, versions) => {
        const { lines, rules } = randomCase(seed, count, versions);
        const expected = referenceAlerts(lines, rules);
        assertSameAlerts(parsed(new Shard(shardSetup(rules)), lines), expected.alerts, `seed ${seed}`);
      }),
      { numRuns: Number(process.env.KLAXON_PROPERTY_RUNS ?? 120) },
    );
  });

  test('what a worker reports FIRING (for Alertmanager after a restart) is each live rule whose latest alert fired, with its type and severity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const { lines, rules } = randomCase(seed, 600, 4);
        const shard = new Shard(shardSetup(rules));
        const latest = new Map<string, Alert>();
        for (const alert of parsed(shard, lines)) if (alert.shadow !== true) latest.set(`${alert.zone_id}|${alert.rule}`, alert);
        // Rules in mode `every` keep no state: their alerts are never followed.
        const every = (alert: Alert) => rules.versions.find((v) => v.version === alert.version)?.rules.find((rule) => rule.id === alert.rule)?.mode === 'every';
        const expected = [...latest]
          .filter(([, alert]) => alert.status === 'firing' && !every(alert))
          .map(([key, alert]) => `${key}|${alert.type}|${alert.severity}`)
          .sort();
        const reported = shard
          .firing([0])
          .map(({ zoneId, rule, type, severity }) => `${zoneId}|${rule}|${type}|${severity}`)
          .sort();
        assert.deepEqual(reported, expected, `seed ${seed}`);
      }),
      { numRuns: 60 },
    );
  });

  test('a worker restored from snapshots mid-stream goes on exactly as one that never stopped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0.1, max: 0.9, noNaN: true }), (seed, at) => {
        const { lines, rules } = randomCase(seed, 600, 4);
        const cut = Math.floor(lines.length * at);
        const whole = parsed(new Shard(shardSetup(rules)), lines);
        const before = new Shard(shardSetup(rules));
        const store = new Map<string, Uint8Array>();
        const save = (full: number[]) => {
          for (const part of before.snapshot(full).partitions) {
            for (const update of part.chunks.flatMap(unpackUpdates)) store.set(update.zoneId, applyUpdate(store.get(update.zoneId), update));
          }
        };
        const first = parsed(before, lines.slice(0, Math.floor(cut / 2)));
        save([]);
        first.push(...parsed(before, lines.slice(Math.floor(cut / 2), cut)));
        save([]);
        const after = new Shard(shardSetup(rules));
        after.restore([...store.keys()], [...store.values()]);
        const rest = parsed(after, lines.slice(cut));
        assertSameAlerts([...first, ...rest], whole, `seed ${seed} cut ${cut}`);
      }),
      { numRuns: 60 },
    );
  });

  test('versions that arrive while the worker runs, before their effectiveFrom, change nothing; a late one applies from the next reading', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const { lines, rules } = randomCase(seed, 800, 4);
      const expected = parsed(new Shard(shardSetup(rules)), lines);
      // The worker starts with version 1 only; each later version arrives just before the first reading at its effectiveFrom.
      const [first, ...later] = rules.versions as [RuleVersion, ...RuleVersion[]];
      const live = new Shard(shardSetup({ ...rules, versions: [first] }));
      const alerts: Alert[] = [];
      let next = 0;
      for (const line of lines) {
        const ts = (JSON.parse(line.startsWith('{') ? line : '{}') as { ts?: number }).ts;
        while (next < later.length && typeof ts === 'number' && ts >= (later[next] as RuleVersion).effectiveFrom) {
          assert.deepEqual(live.addVersion(later[next] as RuleVersion), { kind: 'rules', added: true, late: false }, `seed ${seed}`);
          next++;
        }
        alerts.push(...parsed(live, [line]));
      }
      assertSameAlerts(alerts, expected, `seed ${seed}`);
    }
    const { lines, rules } = randomCase(7, 400, 2);
    const [first, second] = rules.versions as [RuleVersion, RuleVersion];
    const late = new Shard(shardSetup({ ...rules, versions: [first] }));
    late.process(linesTask(lines));
    assert.deepEqual(late.addVersion(second), { kind: 'rules', added: true, late: true }, 'a reading at or past effectiveFrom was evaluated already');
    assert.deepEqual(late.addVersion(second), { kind: 'rules', added: false, late: false }, 'a known version changes nothing');
    assert.deepEqual(late.addVersion({ ...second, version: second.version + 1, effectiveFrom: second.effectiveFrom - 1 }).added, false, 'not after the latest');
  });
});

const line = (zone: string, temperature: number, ts: number) => JSON.stringify({ zone_id: zone, device_id: 'd', temperature, ts });
const ids = (alerts: readonly Alert[]) => alerts.map((a) => `${a.alert_id} ${a.status} ${a.severity} v${a.version}${a.shadow ? ' shadow' : ''}`);

describe('scenarios', () => {
  test('for: fires once the condition has held since t0 for long enough; a break clears t0', () => {
    const shard = new Shard(shardSetup(rulesConfig({ rules: [{ id: 'hot', type: 'threshold', above: 80, for: '3s' }] })));
    const temperatures: Array<[number, number]> = [
      [90, 0],
      [91, 2_000],
      [70, 2_500], // clears t0
      [90, 3_000], // t0 = 3000
      [95, 5_999],
      [92, 6_000], // 3 s held: fires
      [99, 7_000],
      [60, 8_000], // resolves
    ];
    assert.deepEqual(
      ids(
        parsed(
          shard,
          temperatures.map(([t, ts]) => line('a', t, ts)),
        ),
      ),
      ['a:hot:6 firing warning v1', 'a:hot:8 resolved warning v1'],
    );
  });

  test('hysteresis: a firing threshold resolves only at or past its clear level, and does not fire again in between', () => {
    const shard = new Shard(shardSetup(rulesConfig({ rules: [{ id: 'band', type: 'threshold', above: 80, clearAbove: 75, below: 10, clearBelow: 15 }] })));
    const readings = [81, 78, 82, 76, 75, 5, 12, 16].map((t, i) => line('a', t, i * 1_000));
    assert.deepEqual(ids(parsed(shard, readings)), [
      'a:band:1 firing warning v1',
      'a:band:5 resolved warning v1',
      'a:band:6 firing warning v1',
      'a:band:8 resolved warning v1',
    ]);
  });

  test('scopes: zones, then exceptZones; the first matching override wins', () => {
    const shard = new Shard(
      shardSetup(
        rulesConfig({
          rules: [
            {
              id: 'hot',
              type: 'threshold',
              above: 90,
              zones: ['freezer-*', 'oven-?'],
              exceptZones: ['freezer-9'],
              overrides: [
                { zones: ['freezer-1*'], above: 10, severity: 'critical' },
                { zones: ['freezer-*'], above: 20 },
              ],
            },
          ],
        }),
      ),
    );
    const readings = [
      line('freezer-12', 15, 0),
      line('freezer-2', 15, 0),
      line('freezer-3', 25, 0),
      line('freezer-9', 99, 0),
      line('oven-1', 95, 0),
      line('oven-11', 95, 0),
    ];
    assert.deepEqual(ids(parsed(shard, readings)), [
      'freezer-12:hot:1 firing critical v1',
      'freezer-3:hot:1 firing warning v1',
      'oven-1:hot:1 firing warning v1',
    ]);
  });

  test('a version change resolves removed, re-scoped and re-typed rules first, in code point order, with the severity they fired with', () => {
    const versions = [
      {
        version: 1,
        effectiveFrom: 0,
        rules: [
          { id: 'b-hot', type: 'threshold', above: 50, severity: 'critical' },
          { id: 'a-z', type: 'threshold', above: 50 },
          { id: '😀', type: 'threshold', above: 50, severity: 'info' },
          { id: '\uffff', type: 'threshold', above: 50 },
          { id: 'kept', type: 'threshold', above: 50, severity: 'critical' },
          { id: 'scoped', type: 'threshold', above: 50 },
          { id: 'preview', type: 'threshold', above: 50, shadow: true },
        ],
      },
      {
        version: 4,
        effectiveFrom: 10_000,
        rules: [
          { id: 'a-z', type: 'zscore' },
          { id: 'kept', type: 'threshold', above: 50, severity: 'info' },
          { id: 'scoped', type: 'threshold', above: 50, zones: ['other'] },
          { id: 'preview', type: 'threshold', above: 50 },
        ],
      },
    ];
    const shard = new Shard(shardSetup(rulesConfig({ versions })));
    const alerts = parsed(shard, [line('a', 60, 0), line('a', 61, 10_000), line('a', 62, 11_000), line('a', 40, 12_000)]);
    assert.deepEqual(ids(alerts), [
      'a:b-hot:1 firing critical v1',
      'a:a-z:1 firing warning v1',
      'a:😀:1 firing info v1',
      'a:\uffff:1 firing warning v1',
      'a:kept:1 firing critical v1',
      'a:scoped:1 firing warning v1',
      'a:preview:1 firing warning v1 shadow',
      // Removals in code point order: U+FFFF sorts before U+1F600 (in UTF-16 it would not).
      'a:a-z:2:removed resolved warning v4',
      'a:b-hot:2:removed resolved critical v4',
      'a:preview:2:removed resolved warning v4 shadow',
      'a:scoped:2:removed resolved warning v4',
      'a:\uffff:2:removed resolved warning v4',
      'a:😀:2:removed resolved info v4',
      // The promoted shadow rule fires at once in the alerts sink; kept resolves with its new severity.
      'a:preview:2 firing warning v4',
      'a:kept:4 resolved info v4',
      'a:preview:4 resolved warning v4',
    ]);
    assert.deepEqual(alerts[7]?.details, { removed: 1 });
    assert.equal(alerts[7]?.type, 'threshold', 'a removal has the type the rule had when it fired');
    // A late reading of version 1's time brings its rules back: the zone is judged by the rules of its time.
    assert.deepEqual(ids(parsed(shard, [line('a', 70, 9_000)])), [
      'a:b-hot:5 firing critical v1',
      'a:a-z:5 firing warning v1',
      'a:😀:5 firing info v1',
      'a:\uffff:5 firing warning v1',
      'a:kept:5 firing critical v1',
      'a:scoped:5 firing warning v1',
      'a:preview:5 firing warning v1 shadow',
    ]);
  });

  test('rule states are stored by rule id: a worker that gave the ids other slots reads them back', () => {
    const versions = (ids: string[]) => rulesConfig({ rules: ids.map((id) => ({ id, type: 'threshold', above: 50, for: id === 'c' ? '5s' : 0 })) });
    const before = new Shard(shardSetup(versions(['a', 'b', 'c'])));
    before.process(linesTask([line('z', 60, 1_000)]));
    const [part] = before.snapshot([]).partitions;
    const [update] = part?.chunks.flatMap(unpackUpdates) ?? [];
    assert.ok(update !== undefined);
    const after = new Shard(shardSetup(versions(['c', 'b', 'a'])));
    after.restore([update.zoneId], [applyUpdate(undefined, update)]);
    assert.deepEqual(after.zoneHistory('z', 1)?.firing.sort(), ['a', 'b']);
    // c was pending since ts 1000 with for 5 s: it fires at 6000, not before.
    assert.deepEqual(ids(parsed(after, [line('z', 61, 5_999), line('z', 62, 6_000)])), ['z:c:3 firing warning v1']);
  });
});

test('globs: * any run, ? one code point, everything else literal, whole ids', () => {
  const matches = (patterns: string[], id: string) => compileGlobs(patterns)(id);
  assert.ok(matches(['freezer-*'], 'freezer-1') && matches(['freezer-*'], 'freezer-'));
  assert.ok(!matches(['freezer-*'], 'x-freezer-1'), 'whole ids');
  assert.ok(matches(['line-?'], 'line-7') && !matches(['line-?'], 'line-77'));
  assert.ok(matches(['z?'], 'z😀'), 'a character is a code point');
  assert.ok(matches(['a.b+(c)[d]{1}|^$\\'], 'a.b+(c)[d]{1}|^$\\') && !matches(['a.b'], 'axb'), 'regular-expression characters are literal');
  assert.ok(matches(['*'], 'line\nbreak'), 'line breaks are characters too');
  assert.ok(!matches([], 'anything'), 'an empty list matches nothing');
});

test('code point order differs from UTF-16 order past U+FFFF', () => {
  assert.ok(compareCodePoints('\uffff', '😀') < 0);
  assert.ok('\uffff' > '😀', 'as JavaScript compares strings');
  assert.equal(compareCodePoints('ab', 'ab'), 0);
  assert.ok(compareCodePoints('a', 'ab') < 0);
});
