// FlowWatch dashboard: the live alert feed (SSE), filters, the entity view and the system panel.
// Plain DOM, no dependencies; text goes in through textContent only.
'use strict';

const MAX_ROWS = 500;
// New alerts are announced to screen readers at most this often, as one sentence: hundreds a second would drown them.
const ANNOUNCE_MS = 10_000;
const SVG = 'http://www.w3.org/2000/svg';
// Shanghai time as YYYY-MM-DD HH:MM:SS: the order dates are read in China, and the year, since the list may span one's end.
const shanghaiParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});
const shanghai = {
  format(date) {
    const part = Object.fromEntries(shanghaiParts.formatToParts(date).map(({ type, value }) => [type, value]));
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}`;
  },
};
const shanghaiHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit' });
const money = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

// alerts: the latest the page received, unfiltered; view: with a filter set, the worker's alerts that match it (null
// without a filter).
const state = {
  alerts: [], pending: [], pendingDropped: false, rules: new Set(), view: null, viewRequest: 0, filterTimer: 0,
  entity: null, entityTimer: 0, entityRefresh: 0, entityRequest: 0, opener: null, lastEventId: 0, streamOpen: false, streamRetry: 1000,
  unannounced: { I: 0, II: 0, III: 0 }, announcedAt: -Infinity, announceTimer: 0,
};
const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Money as the worker writes it (an alert's amount, an entity's position, caps and hourly flows): JSON.parse would round
// one of more than 15 significant digits, so the number's own text is kept where the browser hands it to a reviver.
const MONEY = new Set(['amount', 'netInflow', 'ownersEquity', 'inflowCap', 'outflowCap', 'inflowCny', 'outflowCny']);

function exactAmounts(key, value, context) {
  return MONEY.has(key) && typeof value === 'number' && context && typeof context.source === 'string' ? context.source : value;
}

const parseJson = (text) => JSON.parse(text, exactAmounts);

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    const error = new Error(problem.detail || response.statusText);
    error.status = response.status;
    throw error;
  }
  return parseJson(await response.text());
}

// Digits grouped by thousands, every decimal kept; a number (a browser without the reviver's source) as before.
function formatAmount(amount) {
  if (typeof amount !== 'string') return money.format(amount);
  const [whole, fraction] = amount.split('.');
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (fraction ? `.${fraction}` : '');
}

// ---- filters ----

function filters() {
  const severities = [...document.querySelectorAll('input[name=severity]:checked')].map((box) => box.value);
  return { severities: new Set(severities), rule: $('filter-rule').value, entity: $('filter-entity').value.trim() };
}

function passes(alert, f) {
  return f.severities.has(alert.severity) && (!f.rule || alert.rule === f.rule) && (!f.entity || alert.entityId === f.entity);
}

// The filters as /api/alerts takes them; '' when none is set (every severity checked, no rule, no entity).
function filterQuery(f) {
  const query = new URLSearchParams();
  if (f.severities.size < 3) query.set('severity', ['I', 'II', 'III'].filter((s) => f.severities.has(s)).join(','));
  if (f.rule) query.set('rule', f.rule);
  if (f.entity) query.set('entity', f.entity);
  return query.toString();
}

// With a filter set, the list is the worker's: every alert it holds that matches (the latest 500 of them), not only
// those among the latest the page holds; live alerts that match are added to it. Only the newest request's answer is
// shown: an earlier one may come back after it.
async function applyFilters(reload) {
  clearTimeout(state.filterTimer);
  const f = filters();
  const key = filterQuery(f);
  if (!reload && key === (state.view ? state.view.key : '')) return;
  const request = ++state.viewRequest;
  // Until the worker answers, the list shows those among the latest the page holds that match (and says so).
  const view = key ? { key, f, after: 0, entries: f.severities.size ? null : [], error: null } : null;
  state.view = view;
  renderAll();
  if (!view || view.entries) return;
  try {
    const page = await getJson(`/api/alerts?limit=${MAX_ROWS}&${key}`);
    if (request !== state.viewRequest) return;
    for (const entry of page.alerts) noteRule(entry.alert.rule);
    // What the stream brought from after the worker's answer was made belongs to it as well.
    const newer = state.alerts.filter((entry) => entry.id > page.lastEventId && passes(entry.alert, f));
    view.after = page.lastEventId;
    view.entries = newer.concat(page.alerts).slice(0, MAX_ROWS);
  } catch (error) {
    if (request !== state.viewRequest) return;
    view.error = error.message;
  }
  renderAll();
}

function noteRule(rule) {
  if (state.rules.has(rule)) return;
  state.rules.add(rule);
  const select = $('filter-rule');
  const option = el('option', null, rule);
  option.value = rule;
  const after = [...select.options].slice(1).find((o) => o.value > rule);
  select.insertBefore(option, after || null);
}

// ---- the feed ----

function amountOf(alert) {
  const m = alert.metrics || {};
  if (m.amount === undefined) return '';
  return `${formatAmount(m.amount)} ${m.currency || ''}`.trim();
}

function row(entry, fresh) {
  const alert = entry.alert;
  const tr = el('tr', `alert sev-${alert.severity}${fresh ? ' fresh' : ''}`);
  tr.dataset.severity = alert.severity;
  tr.dataset.rule = alert.rule;
  tr.dataset.entity = alert.entityId;
  tr.dataset.id = entry.id;
  const time = el('td', 'time');
  const [day, clock] = shanghai.format(new Date(alert.ts)).split(' ');
  time.append(el('span', null, day), ' ', el('span', null, clock));
  tr.append(time);
  const severity = el('td');
  severity.append(el('span', `badge sev-${alert.severity}`, alert.severity));
  tr.append(severity, el('td', 'rule', alert.rule));
  const entity = el('td', 'entity');
  const link = el('button', 'link', alert.entityId);
  link.type = 'button';
  link.dataset.entity = alert.entityId;
  link.title = 'Open the entity view';
  entity.append(link);
  tr.append(entity, el('td', 'num', amountOf(alert)), el('td', 'message', alert.message), el('td', 'refs', (alert.refs || []).join('; ')));
  return tr;
}

function renderAll() {
  const view = state.view;
  const shown = !view ? state.alerts : view.entries || state.alerts.filter((entry) => passes(entry.alert, view.f));
  $('feed').tBodies[0].replaceChildren(...shown.slice(0, MAX_ROWS).map((entry) => row(entry, false)));
  updateCount();
}

function updateCount() {
  const shown = $('feed').tBodies[0].rows.length;
  const view = state.view;
  $('feed-empty').hidden = state.alerts.length > 0 || shown > 0;
  let text = state.alerts.length ? `${shown} of the latest ${state.alerts.length} shown` : '';
  if (view && view.entries) {
    text = shown >= MAX_ROWS ? `the latest ${shown} matching alerts shown` : `${shown} matching alert${shown === 1 ? '' : 's'} shown`;
  } else if (view && view.error) {
    text += ` (the worker's matching alerts could not be loaded: ${view.error})`;
  } else if (view) {
    text += '; asking the worker for every match…';
  }
  $('feed-count').textContent = text;
}

function accept(entries) {
  // entries oldest first
  for (const entry of entries) {
    noteRule(entry.alert.rule);
    state.alerts.unshift(entry);
  }
  if (state.alerts.length > MAX_ROWS) state.alerts.length = MAX_ROWS;
}

function flush() {
  state.flushing = false;
  const entries = state.pending;
  state.pending = [];
  accept(entries);
  const view = state.view;
  // The worker's answer holds what it had when it answered: of the stream, only what came after that is new to it.
  const fresh = !view ? entries : entries.filter((entry) => passes(entry.alert, view.f) && (!view.entries || entry.id > view.after));
  if (view && view.entries) {
    for (const entry of fresh) view.entries.unshift(entry);
    if (view.entries.length > MAX_ROWS) view.entries.length = MAX_ROWS;
  }
  const body = $('feed').tBodies[0];
  body.prepend(...fresh.map((entry) => row(entry, true)).reverse());
  // Until the worker's answer is in, the list shows only alerts among the latest the page holds.
  const oldest = !(view && view.entries) && state.alerts.length ? state.alerts[state.alerts.length - 1].id : 0;
  while (body.rows.length > MAX_ROWS || (body.rows.length && Number(body.rows[body.rows.length - 1].dataset.id) < oldest)) body.deleteRow(-1);
  updateCount();
  announce(fresh);
  // Alerts dropped while the page was hidden may have matched: the worker is asked again.
  if (state.pendingDropped) {
    state.pendingDropped = false;
    if (view) applyFilters(true);
  }
  if (state.entity && entries.some((entry) => entry.alert.entityId === state.entity)) refreshEntity();
}

// The alerts newly shown, told to screen readers by severity, most severe first: at once after a quiet spell, else
// gathered until ANNOUNCE_MS after the last announcement.
function announce(shown) {
  for (const entry of shown) state.unannounced[entry.alert.severity] += 1;
  if (state.announceTimer || shown.length === 0) return;
  state.announceTimer = setTimeout(() => {
    state.announceTimer = 0;
    state.announcedAt = performance.now();
    const counts = state.unannounced;
    const total = counts.I + counts.II + counts.III;
    const parts = ['III', 'II', 'I'].filter((severity) => counts[severity] > 0).map((severity) => `${counts[severity]} of severity ${severity}`);
    $('feed-announcer').textContent = `${total} new ${total === 1 ? 'alert' : 'alerts'}: ${parts.join(', ')}.`;
    state.unannounced = { I: 0, II: 0, III: 0 };
  }, Math.max(0, state.announcedAt + ANNOUNCE_MS - performance.now()));
}

// New alerts of the open entity bring its view up to date within a second, once for a burst of them rather than once
// per frame: the worker answers each view between its batches.
function refreshEntity() {
  if (state.entityRefresh) return;
  state.entityRefresh = setTimeout(() => {
    state.entityRefresh = 0;
    if (state.entity) loadEntity(state.entity);
  }, 1000);
}

function receive(entry) {
  state.pending.push(entry);
  // A hidden page gets no animation frames, so nothing is flushed while it stays hidden: only the latest that a flush
  // can show are kept.
  if (state.pending.length > MAX_ROWS) {
    state.pending.splice(0, state.pending.length - MAX_ROWS);
    state.pendingDropped = true;
  }
  if (!state.flushing) {
    state.flushing = true;
    requestAnimationFrame(flush);
  }
}

async function start() {
  try {
    // Every rule, not only those among the alerts held: a rare one (a sanctions hit) must be one to filter by too.
    for (const rule of await getJson('/api/rules')) noteRule(rule);
    const page = await getJson('/api/alerts?limit=' + MAX_ROWS);
    state.lastEventId = page.lastEventId;
    accept(page.alerts.slice().reverse());
  } catch (error) {
    $('feed-empty').textContent = `Could not load alerts: ${error.message}`;
  }
  // Filters the browser kept from before a reload, or set before a gap, ask the worker (again).
  applyFilters(true);
  const stream = new EventSource('/api/alerts/stream?after=' + state.lastEventId);
  stream.onmessage = (event) => receive({ id: Number(event.lastEventId), alert: parseJson(event.data) });
  stream.onopen = () => {
    state.streamOpen = true;
    state.streamRetry = 1000;
    setStatus(true);
  };
  stream.onerror = () => {
    state.streamOpen = false;
    if (stream.readyState !== EventSource.CLOSED) {
      setStatus(false, 'reconnecting…');
      return;
    }
    // The browser gives up on a stream answered with anything but 200 (a proxy's 503 while the worker restarts, a
    // token no longer valid): this page tries again itself, with growing pauses.
    setStatus(false, 'disconnected; trying again');
    setTimeout(restart, state.streamRetry);
    state.streamRetry = Math.min(state.streamRetry * 2, 30000);
  };
  // Some alerts this page missed are no longer held: start over from the latest, and say so.
  stream.addEventListener('gap', () => {
    stream.close();
    state.streamOpen = false;
    const notice = $('feed-notice');
    notice.textContent = `Some alerts were no longer held when this page caught up (it fell behind, or the worker restarted); the list was reloaded at ${shanghai.format(new Date())}.`;
    notice.hidden = false;
    startAfresh();
  });
}

function startAfresh() {
  state.alerts = [];
  state.pending = [];
  start();
}

// After the browser gave up on the stream: to sign in again if the token is no longer taken, else the latest afresh.
async function restart() {
  try {
    await getJson('/api/stats');
  } catch (error) {
    if (error.status === 401) {
      location.assign('/signin');
      return;
    }
  }
  startAfresh();
}

// ---- the entity view ----

async function loadEntity(id) {
  state.entity = id;
  clearTimeout(state.entityTimer);
  // Only the newest request's answer is shown: an earlier one may come back after it.
  const request = ++state.entityRequest;
  const panel = $('entity');
  panel.hidden = false;
  $('entity-title').textContent = id;
  try {
    const view = await getJson('/api/entities?id=' + encodeURIComponent(id));
    if (request !== state.entityRequest) return;
    renderEntity(view);
  } catch (error) {
    if (request !== state.entityRequest) return;
    $('entity-sub').textContent = error.status === 404 ? 'No state for this entity in this worker.' : `Could not load: ${error.message}`;
    $('quota-year').textContent = '';
    $('gauges').replaceChildren();
    $('flow-chart').replaceChildren();
    $('entity-alerts').replaceChildren();
    // Without state here (another worker's partitions hold it), it is not asked for again until it is opened again.
    if (error.status === 404) return;
  }
  if (request === state.entityRequest) state.entityTimer = setTimeout(() => state.entity === id && loadEntity(id), 5000);
}

function renderEntity(view) {
  const e = view.entity;
  $('entity-title').textContent = e.name ? `${e.entityId} · ${e.name}` : e.entityId;
  $('entity-sub').textContent = `${money.format(e.events)} events` + (e.newestTs ? ` · newest ${shanghai.format(new Date(e.newestTs))}` : '');
  const p = e.penetration;
  $('quota-year').textContent = p.year ? `(${p.year})` : '';
  const gauges = $('gauges');
  if (p.inflowCap === undefined) {
    gauges.replaceChildren(el('p', 'muted', 'No owner\'s equity on file: no quota.'));
  } else {
    // The net position is an inflow when above zero, an outflow when below; its digits as written either way.
    const net = Number(p.netInflow), magnitude = String(p.netInflow).replace(/^-/, '');
    gauges.replaceChildren(
      gauge('inflow', p.inflowUtilisation, net > 0 ? magnitude : '0', p.inflowCap, p.warnUtilisation),
      gauge('outflow', p.outflowUtilisation, net < 0 ? magnitude : '0', p.outflowCap, p.warnUtilisation));
  }
  $('flow-chart').replaceChildren(flowChart(e.last24h), flowTable(e.last24h));
  const list = $('entity-alerts');
  list.replaceChildren(...view.recentAlerts.map((entry) => {
    const item = el('li');
    item.append(el('span', 'muted', shanghai.format(new Date(entry.alert.ts))), ' ', el('span', `badge sev-${entry.alert.severity}`, entry.alert.severity),
      ' ', el('strong', null, entry.alert.rule), ' ', el('span', null, entry.alert.message));
    return item;
  }));
  if (!view.recentAlerts.length) list.append(el('li', 'muted', 'No recent alerts.'));
}

// A half-circle gauge of used / cap; amber from the warning level (80 % by default), red over the cap (any use of a cap
// of 0 is over it).
function gauge(direction, utilisation, used, cap, warnAt = 0.8) {
  const overZero = Number(cap) === 0 && Number(used) > 0;
  const share = overZero ? Infinity : utilisation === undefined ? 0 : utilisation;
  const box = el('div', `gauge${share > 1 ? ' breach' : share >= warnAt ? ' warn' : ''}`);
  box.dataset.testid = `gauge-${direction}`;
  const drawing = svg('svg', { viewBox: '0 0 120 70', role: 'img', 'aria-label': overZero ? `${direction} quota over its cap of 0` : `${direction} quota ${(share * 100).toFixed(1)} percent used` });
  const arc = (fraction) => {
    const angle = Math.PI * (1 - Math.min(Math.max(fraction, 0), 1));
    return `M 10 60 A 50 50 0 0 1 ${60 + 50 * Math.cos(angle)} ${60 - 50 * Math.sin(angle)}`;
  };
  drawing.append(svg('path', { class: 'track', d: arc(1) }));
  if (share > 0) drawing.append(svg('path', { class: 'fill', d: arc(share) }));
  drawing.append(svg('text', { class: 'pct', x: 60, y: 58, 'text-anchor': 'middle' }, overZero ? 'cap 0' : `${(share * 100).toFixed(1)}%`));
  box.append(drawing, el('div', 'caption', `${direction}: ${formatAmount(used)} of ${formatAmount(cap)} CNY`));
  return box;
}

// The chart's figures as a table for screen readers and keyboards, which cannot reach the bars' tooltips.
function flowTable(hours) {
  const table = el('table', 'visually-hidden');
  table.append(el('caption', null, 'Inflow and outflow per hour over the last 24 hours, CNY, Shanghai time'));
  const head = el('tr');
  head.append(el('th', null, 'hour'), el('th', null, 'inflow'), el('th', null, 'outflow'));
  const body = el('tbody');
  body.append(...hours.map((h) => {
    const tr = el('tr');
    tr.append(el('td', null, shanghaiHour.format(new Date(h.hour))), el('td', null, formatAmount(h.inflowCny)), el('td', null, formatAmount(h.outflowCny)));
    return tr;
  }));
  const thead = el('thead');
  thead.append(head);
  table.append(thead, body);
  return table;
}

function flowChart(hours) {
  const width = 360, height = 150, left = 34, bottom = 18, top = 6;
  const drawing = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Inflow and outflow per hour over the last 24 hours' });
  const max = Math.max(1, ...hours.map((h) => Math.max(Number(h.inflowCny), Number(h.outflowCny))));
  const plot = height - bottom - top;
  const slot = (width - left) / Math.max(hours.length, 1);
  drawing.append(svg('line', { class: 'axis', x1: left, y1: height - bottom, x2: width, y2: height - bottom }));
  drawing.append(svg('text', { x: left - 4, y: top + 8, 'text-anchor': 'end' }, compact.format(max)));
  drawing.append(svg('text', { x: left - 4, y: height - bottom, 'text-anchor': 'end' }, '0'));
  hours.forEach((h, i) => {
    const x = left + i * slot;
    const bar = (value, offset, cls, label) => {
      const barHeight = (Number(value) / max) * plot;
      const rect = svg('rect', { class: cls, x: x + offset, y: height - bottom - barHeight, width: Math.max(slot / 2 - 1, 1), height: barHeight });
      rect.append(svg('title', {}, `${shanghaiHour.format(new Date(h.hour))} ${label} ${formatAmount(value)} CNY`));
      drawing.append(rect);
    };
    bar(h.inflowCny, 0.5, 'in', 'inflow');
    bar(h.outflowCny, slot / 2, 'out', 'outflow');
    if (i % 6 === 0) drawing.append(svg('text', { x: x + slot / 2, y: height - 4, 'text-anchor': 'middle' }, shanghaiHour.format(new Date(h.hour))));
  });
  return drawing;
}

// ---- the system panel ----

function setStatus(ok, text) {
  const status = $('stat-status');
  status.textContent = text || (ok ? 'live' : 'down');
  status.className = `value ${ok ? 'ok' : 'bad'}`;
}

function uptime(seconds) {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

async function refreshStats() {
  try {
    const stats = await getJson('/api/stats');
    $('stat-events').textContent = money.format(Math.round(stats.eventsPerSecond));
    $('stat-lag').textContent = stats.consumerLag === null ? '–' : money.format(stats.consumerLag);
    for (const severity of ['I', 'II', 'III']) {
      $(`stat-alerts-${severity}`).textContent = `${severity}: ${stats.alertsPerSecond[severity].toFixed(1)}`;
      $(`stat-total-${severity}`).textContent = `${severity}: ${money.format(stats.alerts[severity])}`;
    }
    $('stat-dead').textContent = money.format(stats.deadLetters);
    $('stat-reused').textContent = money.format(stats.differingDuplicates);
    $('stat-conflicts').textContent = money.format(stats.referenceConflicts);
    $('stat-split').textContent = money.format(stats.splitEntities);
    $('stat-uptime').textContent = uptime(stats.uptimeSeconds);
    $('stat-status').title = stats.status;
    if (!stats.ready) setStatus(false, 'not consuming');
    else if (state.streamOpen) setStatus(true);
  } catch {
    setStatus(false);
  }
}

// ---- wiring ----

document.addEventListener('DOMContentLoaded', () => {
  $('filters').addEventListener('change', () => applyFilters(false));
  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters(false);
  });
  // Not one request per keystroke: the worker is asked once typing pauses.
  // A browser may keep the box's text across a reload.
  $('entity-open').disabled = $('filter-entity').value.trim() === '';
  $('filter-entity').addEventListener('input', () => {
    $('entity-open').disabled = $('filter-entity').value.trim() === '';
    clearTimeout(state.filterTimer);
    state.filterTimer = setTimeout(() => applyFilters(false), 300);
  });
  // The entity view comes after the whole list: opening it takes the focus there, closing it (× or Escape) brings the
  // focus back to the entity it was opened from, so a keyboard never has to cross the list.
  const openEntity = (opener, id) => {
    state.opener = opener;
    loadEntity(id);
    $('entity-title').focus();
  };
  $('feed').addEventListener('click', (event) => {
    const target = event.target.closest('button[data-entity]');
    if (target) openEntity(target, target.dataset.entity);
  });
  // Any entity, also one without an alert on the page: a supervisor looking a company up.
  $('entity-open').addEventListener('click', () => {
    const id = $('filter-entity').value.trim();
    if (id) openEntity($('entity-open'), id);
  });
  const closeEntity = () => {
    state.entity = null;
    state.entityRequest++;   // an answer still on its way is not shown
    clearTimeout(state.entityTimer);
    $('entity').hidden = true;
    // "Open entity" is disabled once its box is emptied: the box takes the focus then.
    if (state.opener && state.opener.isConnected) (state.opener.disabled ? $('filter-entity') : state.opener).focus();
    state.opener = null;
  };
  $('entity-close').addEventListener('click', closeEntity);
  $('entity').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeEntity();
  });
  refreshStats();
  setInterval(refreshStats, 1000);
  start();
});
