import assert from 'node:assert/strict';
import { existsSync, type WriteStream } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { Plant } from '../../src/io/generator/readings.js';
import { setLogLevel } from '../../src/log.js';
import { pipedEngine } from '../helpers/piped-engine.js';
import { tempDir } from '../helpers/run-engine.js';

// Keep the test output to what the test says (the engine's info lines are not news here).
setLogLevel('warn');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Set to refresh the README's screenshot from this run (otherwise it only goes to a temp folder). */
const UPDATE_DOCS = process.env.KLAXON_UPDATE_SCREENSHOT === '1';

function write(stream: WriteStream, lines: readonly string[]): Promise<void> {
  return new Promise((done, fail) => stream.write(`${lines.join('\n')}\n`, (error) => (error ? fail(error) : done())));
}

test('dashboard: a real browser sees the zones, and an injected anomaly in its alert feed within two seconds', { timeout: 90_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is missing, so the browser test cannot run: install Debian's chromium package (bash scripts/install-chromium.sh, as root)`);
    return;
  }
  const engine = await pipedEngine(t, {
    window: { size: 100, pane: '1s' },
    rules: [
      { id: 'too-hot', type: 'threshold', above: 89 },
      { id: 'outlier', type: 'zscore', k: 3, minSamples: 30 },
      { id: 'hot-preview', type: 'threshold', above: 120, shadow: true, shadows: 'too-hot' },
    ],
    http: { port: 0, dashboard: true },
  });
  const { observe } = engine;
  const { readings, finished } = engine.start();
  const dir = await tempDir(t);

  // A plant of 150 zones with the odd spike, and boiler-7 quietly at 20° for 40 readings.
  const plant = new Plant({ zones: 150, devicesPerZone: 4, seed: 7, spikeRate: 0.004, heatWaveRate: 0, badRate: 0 });
  const start = 1_760_000_000_000;
  const boiler = (i: number, temperature: number) => JSON.stringify({ zone_id: 'boiler-7', device_id: 'probe-1', temperature, ts: start + i * 100 });
  const preload: string[] = [];
  for (let i = 0; i < 6_000; i++) preload.push(i % 150 === 0 ? boiler(i, 20 + (i % 7) / 10) : plant.next(start + i * 100).line);
  await write(readings, preload);

  const browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 900 },
  });
  // Closed here rather than in an after-hook: those run in the order they were added and stop at
  // the first that throws. In CI the temp folder's removal came first and failed (ENOTEMPTY, Chromium
  // still writing its cache), so the browser and the engine were never stopped and kept the test
  // process alive until CI's time ran out.
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${observe.url}/`);
    await page.locator('#status[data-state="ready"]').waitFor({ timeout: 10_000 });
    await page.waitForFunction("document.querySelectorAll('#grid .cell').length === 151", undefined, { timeout: 10_000 });
    // Every preloaded reading processed, so the anomaly does not queue behind them.
    await page.locator('#records', { hasText: '6,000' }).waitFor({ timeout: 10_000 });

    // For the README's picture only: steady readings for half a minute first and until the screenshot, so the throughput chart has a history.
    let streaming = UPDATE_DOCS;
    const stream = (async () => {
      for (let i = 6_001; streaming; i += 50) {
        await write(
          readings,
          Array.from({ length: 50 }, (_, k) => plant.next(start + (i + k) * 100).line),
        );
        await sleep(250);
      }
    })();
    if (UPDATE_DOCS) await sleep(30_000);

    // The anomaly: boiler-7 jumps to 150°. Its alert must reach the page's feed within two seconds.
    const injectedAt = Date.now();
    await write(readings, [boiler(6_000, 150)]);
    const alert = page.locator('#alerts li[data-alert-id="boiler-7:too-hot:41"]');
    await alert.waitFor({ timeout: 2_000 });
    const seenAfterMs = Date.now() - injectedAt;
    assert.ok(seenAfterMs < 2_000, `the alert took ${seenAfterMs} ms`);
    t.diagnostic(`the injected alert reached the page ${seenAfterMs} ms after its reading was written`);
    assert.match((await alert.textContent()) ?? '', /firing[\s\S]*too-hot · boiler-7[\s\S]*150\.0°/i);

    // It heads the grid as a firing zone, and clicking the alert charts the zone with its band and the rules firing.
    await page.locator('#grid .cell.firing[data-zone="boiler-7"]').first().waitFor({ timeout: 2_000 });
    await alert.click();
    await page.locator('#zone-caption', { hasText: 'firing: too-hot' }).waitFor({ timeout: 3_000 });
    assert.equal(await page.locator('#zone-title').textContent(), 'boiler-7');
    assert.ok((await page.locator('#zone-chart canvas').count()) > 0, 'the zone chart is drawn');
    // The shadow rule fired once (only the boiler passed 120), beside the live rule it shadows.
    await page.waitForFunction("document.querySelector('#shadows tr[data-rule=\"hot-preview\"]')?.cells[1]?.textContent === '1'", undefined, {
      timeout: 3_000,
    });
    assert.equal(await page.locator('#shadow-panel').isVisible(), true);
    assert.equal(await page.locator('#shadows tr[data-rule="hot-preview"] td').nth(2).textContent(), 'too-hot');
    assert.ok(Number(await page.locator('#shadows tr[data-rule="hot-preview"] td').nth(3).textContent()) >= 1, 'the live rule fired too');
    assert.deepEqual(pageErrors, []);

    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot });
    if (UPDATE_DOCS) await copyFile(shot, resolve(import.meta.dirname, '../../../docs/dashboard.png'));
    streaming = false;
    await stream;
  } finally {
    await browser.close();
  }

  readings.end();
  await finished;
});
