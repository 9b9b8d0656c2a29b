// Klaxon's live dashboard. Everything arrives over one server-sent-events
// stream (/events?zone=ID): the engine summary, the grid's bounded set of
// zones, new alerts and the selected zone's history. Charts are uPlot
// (loaded by index.html as the global `uPlot`).
const { uPlot } = window;

const MAX_FEED = 200;
const THROUGHPUT_POINTS = 120;
const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat('en-US');

const state = {
  zone: new URLSearchParams(location.search).get('zone') || undefined,
  k: 3,
  /** Temperature scale of the grid: from the threshold rule if there is one, else from the zones shown. */
  hotAt: undefined,
  events: undefined,
  lastSample: 0,
  throughput: [[], [], []],
};

// ---------- live stream ----------

function connect() {
  state.events?.close();
  const query = state.zone === undefined ? '' : `?zone=${encodeURIComponent(state.zone)}`;
  const events = new EventSource(`/events${query}`);
  state.events = events;
  const on = (name, handle) => events.addEventListener(name, (event) => handle(JSON.parse(event.data)));
  on('hello', hello);
  on('summary', summary);
  on('zones', grid);
  on('alerts', (alerts) => addAlerts(alerts, true));
  on('zone', zoneChart);
  events.onerror = () => setStatus('disconnected', 'reconnecting…');
}

function select(zone) {
  if (!zone || zone === state.zone) return;
  state.zone = zone;
  history.replaceState(null, '', `?zone=${encodeURIComponent(zone)}`);
  $('zone-title').textContent = zone;
  $('zone-caption').textContent = 'loading…';
  for (const cell of $('grid').children) cell.classList.toggle('selected', cell.dataset.zone === zone);
  connect();
}

function hello({ k, rules, alerts, throughput }) {
  state.k = k;
  const threshold = rules.find((rule) => rule.type === 'threshold');
  state.hotAt = threshold === undefined ? undefined : Number(threshold.above ?? NaN) || undefined;
  if (state.throughput[0].length === 0) {
    for (const [t, rate, lag] of throughput) pushSample(t, rate, lag);
    throughputPlot.setData(state.throughput);
  }
  if ($('alerts').children.length === 0) addAlerts(alerts, false);
}

function setStatus(kind, text) {
  const pill = $('status');
  pill.dataset.state = kind;
  pill.textContent = text;
}

// ---------- header and throughput ----------

function summary(s) {
  setStatus(s.ready ? 'ready' : 'not-ready', s.ready ? 'ready' : 'starting');
  $('rate').textContent = number.format(s.rate);
  $('lag').textContent = s.lag === null ? '–' : number.format(s.lag);
  $('records').textContent = number.format(s.records);
  $('zones').textContent =
    s.zonesEvicted > 0 ? `${number.format(s.zones)} (+${number.format(s.zonesEvicted)} in the state store)` : number.format(s.zones);
  $('alerts-total').textContent = number.format(s.firing + s.resolved);
  $('rejected').textContent = number.format(s.rejected);
  const rules = s.rules;
  if (rules !== undefined) {
    const inForce = rules.inForce === undefined ? '–' : `v${rules.inForce}`;
    const pending = rules.latest !== rules.inForce ? ` (v${rules.latest} next)` : '';
    $('rules-version').textContent = `${inForce}${pending}${rules.late > 0 ? ` · ${rules.late} late` : ''}`;
  }
  shadowRules(s.shadows ?? []);
  if (s.sampleAt > state.lastSample) {
    pushSample(s.sampleAt, s.rate, s.lag);
    throughputPlot.setData(state.throughput);
  }
}

/** Each shadow rule's firings in the last hour beside the live rule it shadows (a panel shown only when there are shadow rules). */
function shadowRules(shadows) {
  $('shadow-panel').hidden = shadows.length === 0;
  const body = $('shadows').tBodies[0];
  while (body.rows.length < shadows.length) {
    const row = body.insertRow();
    for (const kind of ['rule', 'count', 'rule', 'count']) row.insertCell().className = kind;
  }
  while (body.rows.length > shadows.length) body.deleteRow(-1);
  shadows.forEach(({ rule, firing, shadows: live, liveFiring }, i) => {
    const cells = body.rows[i].cells;
    cells[0].textContent = rule;
    cells[1].textContent = number.format(firing);
    cells[2].textContent = live ?? '–';
    cells[3].textContent = liveFiring === null ? '–' : number.format(liveFiring);
    body.rows[i].dataset.rule = rule;
  });
}

function pushSample(t, rate, lag) {
  state.lastSample = t;
  const [ts, rates, lags] = state.throughput;
  ts.push(t / 1000);
  rates.push(rate);
  lags.push(lag);
  if (ts.length > THROUGHPUT_POINTS) for (const series of state.throughput) series.shift();
}

const throughputPlot = new uPlot(
  {
    width: 400,
    height: 170,
    legend: { live: false },
    // Readings/s from zero, so a dip looks like a dip and not like a cliff.
    scales: {
      // Always the last two minutes, even before two minutes of samples exist.
      x: { range: (_u, min, max) => [Math.min(min, max - 120), max] },
      y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.15)] },
      lag: { auto: true },
    },
    axes: [
      { stroke: '#8a96a3', grid: { stroke: '#2a323c' } },
      { stroke: '#8a96a3', grid: { stroke: '#2a323c' }, size: 60 },
      { scale: 'lag', side: 1, stroke: '#8a96a3', grid: { show: false } },
    ],
    series: [
      {},
      { label: 'readings/s', stroke: '#4ea1ff', width: 2, fill: 'rgba(78,161,255,0.12)', points: { show: false } },
      { label: 'lag', scale: 'lag', stroke: '#faad14', width: 1.5, points: { show: false } },
    ],
  },
  state.throughput,
  $('throughput-chart'),
);

// ---------- zone grid ----------

function grid({ total, firingZones, zones }) {
  const cells = $('grid');
  const shown = zones.length;
  $('grid-caption').textContent =
    `${number.format(shown)} of ${number.format(total)} shown · ${number.format(firingZones)} firing · firing first, then hottest`;
  $('firing-zones').textContent = number.format(firingZones);
  const temperatures = zones.map((z) => z[1]);
  const lo = Math.min(...temperatures, state.hotAt === undefined ? Infinity : state.hotAt - 40);
  const hi = state.hotAt ?? Math.max(...temperatures);
  $('legend-lo').textContent = `${Math.round(lo)}°`;
  $('legend-hi').textContent = `${Math.round(hi)}°`;
  while (cells.children.length < shown) cells.append(newCell());
  while (cells.children.length > shown) cells.lastChild.remove();
  zones.forEach(([zone, latest, firing], i) => {
    const cell = cells.children[i];
    cell.dataset.zone = zone;
    cell.style.background = heat(latest, lo, hi);
    cell.textContent = Math.round(latest);
    cell.title = `${zone}: ${latest}°${firing ? ` — firing: ${firing.replaceAll(',', ', ')}` : ''}`;
    cell.classList.toggle('firing', firing !== '');
    cell.classList.toggle('selected', zone === state.zone);
  });
  // With nothing chosen yet, show the zone that most needs looking at.
  if (state.zone === undefined && zones.length > 0) select(zones[0][0]);
}

function newCell() {
  const cell = document.createElement('div');
  cell.className = 'cell';
  cell.addEventListener('click', () => select(cell.dataset.zone));
  return cell;
}

/** Blue (cool) through green and yellow to red (at the threshold and above). */
function heat(value, lo, hi) {
  const t = hi > lo ? Math.min(1, Math.max(0, (value - lo) / (hi - lo))) : 0.5;
  return `hsl(${Math.round(220 * (1 - t))} 70% ${45 + 5 * Math.sin(Math.PI * t)}%)`;
}

// ---------- alerts feed ----------

function addAlerts(alerts, fresh) {
  const list = $('alerts');
  for (const alert of alerts) {
    const item = document.createElement('li');
    item.dataset.alertId = alert.id;
    item.dataset.zone = alert.zone;
    item.dataset.status = alert.status;
    if (fresh) item.className = 'new';
    const time = new Date(alert.at).toLocaleTimeString('en-GB');
    item.innerHTML = '<span class="time"></span><span class="status"></span><span class="what"></span><span class="value"></span>';
    item.children[0].textContent = time;
    item.children[1].textContent = alert.status;
    item.children[2].textContent = `${alert.rule} · ${alert.zone}`;
    item.children[3].textContent = `${alert.value.toFixed(1)}°`;
    item.title = `${alert.id} (reading ts ${new Date(alert.ts).toISOString()})`;
    item.addEventListener('click', () => select(alert.zone));
    list.prepend(item);
  }
  while (list.children.length > MAX_FEED) list.lastChild.remove();
}

// ---------- selected zone chart ----------

const markers = (color) => ({ show: true, size: 9, fill: color, stroke: color, width: 1 });
const zonePlot = new uPlot(
  {
    width: 600,
    height: 220,
    legend: { live: false },
    scales: { x: { time: false } },
    axes: [
      { stroke: '#8a96a3', grid: { stroke: '#2a323c' }, label: 'seq' },
      { stroke: '#8a96a3', grid: { stroke: '#2a323c' }, size: 50 },
    ],
    series: [
      { label: 'seq' },
      { label: 'mean + kσ', stroke: 'rgba(78,161,255,0.35)', width: 1, points: { show: false } },
      { label: 'mean − kσ', stroke: 'rgba(78,161,255,0.35)', width: 1, points: { show: false } },
      { label: 'mean', stroke: '#4ea1ff', width: 1, dash: [4, 4], points: { show: false } },
      { label: 'reading', stroke: '#d8dee6', width: 1.5, points: { show: false } },
      { label: 'firing', stroke: '#ff4d4f', paths: () => null, points: markers('#ff4d4f') },
      { label: 'resolved', stroke: '#52c41a', paths: () => null, points: markers('#52c41a') },
    ],
    bands: [{ series: [1, 2], fill: 'rgba(78,161,255,0.12)' }],
  },
  [[], [], [], [], [], [], []],
  $('zone-chart'),
);

function zoneChart(z) {
  if (z.zoneId !== state.zone) return;
  $('zone-title').textContent = z.zoneId;
  if (!z.found) {
    $('zone-caption').textContent = z.evicted
      ? 'out of memory (tiering): its state is in the store, and its chart returns with its next reading'
      : 'no such zone (yet)';
    zonePlot.setData([[], [], [], [], [], [], []]);
    return;
  }
  const { values, firstSeq, mean, std } = z;
  const seqs = values.map((_, i) => firstSeq + i);
  const upper = seqs.map(() => mean + state.k * std);
  const lower = seqs.map(() => mean - state.k * std);
  const flat = seqs.map(() => mean);
  const firing = seqs.map(() => null);
  const resolved = seqs.map(() => null);
  for (const alert of z.alerts) {
    const i = alert.seq - firstSeq;
    if (i >= 0 && i < seqs.length) (alert.status === 'firing' ? firing : resolved)[i] = alert.value;
  }
  zonePlot.setData([seqs, upper, lower, flat, values, firing, resolved]);
  const rules = z.firing.length > 0 ? `firing: ${z.firing.join(', ')}` : 'no rule firing';
  $('zone-caption').textContent =
    `seq ${number.format(z.seq)} · mean ${mean.toFixed(2)}° · σ ${std.toFixed(2)} · band ±${state.k}σ · ${rules}`;
}

// ---------- layout ----------

function fit() {
  const width = (id) => Math.max(200, $(id).clientWidth);
  zonePlot.setSize({ width: width('zone-chart'), height: 220 });
  throughputPlot.setSize({ width: width('throughput-chart'), height: 170 });
}

$('zone-form').addEventListener('submit', (event) => {
  event.preventDefault();
  select($('zone-input').value.trim());
});
window.addEventListener('resize', fit);
fit();
if (state.zone !== undefined) $('zone-title').textContent = state.zone;
connect();
