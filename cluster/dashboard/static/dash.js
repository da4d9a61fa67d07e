// Rain's dashboard page: it listens to the dashboard's server-sent events (one "update" per
// tick: the cluster's state, and the task stream's spans since the last update) and draws the
// nodes, the task stream, the maps and the modules. No framework: tables are rebuilt at each
// update, the task stream is a canvas redrawn at each animation frame.
'use strict';

const rain = {
  state: null,      // the last update's state
  spans: [],        // the task stream's spans, oldest first
  offset: 0,        // the browser's clock minus the dashboard's
  source: null,     // the EventSource
  lastMessage: 0,   // when the last update arrived (browser clock)
  updates: 0,
  reconnects: 0,
  colours: new Map(), // key → colour, in order of first appearance
};
window.rainDash = rain;

const $ = (id) => document.getElementById(id);
const maxSpans = 200000; // the task stream's spans a page keeps, at most
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const token = new URLSearchParams(location.search).get('token');
const withToken = (path) => (token ? `${path}?token=${encodeURIComponent(token)}` : path);

// ---- the connection ----

function setLink(status, text) {
  $('link').dataset.status = status;
  $('link-text').textContent = text;
}

function connect() {
  if (rain.source) rain.source.close();
  const es = new EventSource(withToken('events'));
  rain.source = es;
  rain.lastMessage = Date.now();
  es.addEventListener('update', (e) => {
    rain.lastMessage = Date.now();
    onUpdate(JSON.parse(e.data));
  });
  es.onerror = () => {
    if (es !== rain.source) return;
    setLink('reconnecting', 'connection lost: reconnecting…');
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an HTTP error): 403 means a wrong token; else try again.
      fetch(withToken('api/state'), { cache: 'no-store' }).then((r) => {
        if (r.status === 403) {
          setLink('denied', 'access denied: open the address with ?token=… that rain printed');
        } else {
          setTimeout(reconnect, 1000);
        }
      }).catch(() => setTimeout(reconnect, 1000));
    }
  };
}

function reconnect() {
  rain.reconnects++;
  connect();
}

// A connection that went silent (a laptop that slept, a proxy that holds it) is opened again:
// the dashboard sends an update 4 times a second.
setInterval(() => {
  if ($('link').dataset.status !== 'denied' && Date.now() - rain.lastMessage > 3000) {
    setLink('reconnecting', 'no update for 3 s: reconnecting…');
    reconnect();
  }
}, 1000);

function onUpdate(msg) {
  const st = msg.state;
  rain.state = st;
  rain.updates++;
  rain.offset = Date.now() - st.now;
  if (msg.reset) rain.spans = [];
  for (const s of msg.spans) rain.spans.push(s);
  const oldest = st.now - st.window;
  let k = 0;
  while (k < rain.spans.length && rain.spans[k].e < oldest) k++;
  if (rain.spans.length - k > maxSpans) k = rain.spans.length - maxSpans;
  if (k > 0) rain.spans.splice(0, k);
  markDirty();
  setLink('live', `live · ${st.watchers} page${st.watchers === 1 ? '' : 's'} open`);
  render(st);
}

// ---- formatting ----

function duration(s) {
  if (!(s >= 0)) return '–';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
function micros(us) {
  if (!(us >= 0)) return '–';
  return us < 1000 ? `${Math.round(us)} µs` : `${(us / 1000).toFixed(1)} ms`;
}
function bytes(n) {
  if (!n) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}
function rate(r) {
  if (!(r > 0)) return '0';
  return r >= 100 ? Math.round(r).toLocaleString('en') : r.toFixed(1);
}
function clock(ms) {
  return new Date(ms).toLocaleTimeString('en-GB');
}
const bar = (share, cls = '') => `<span class="bar ${cls}"><i style="width:${(100 * Math.max(0, Math.min(1, share))).toFixed(1)}%"></i></span>`;

// ---- colours ----

// Distinct colours, none of them the red of a trap or the orange of a rerun; then hues a golden
// angle apart.
const palette = ['#4e79a7', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#8cd17d', '#499894', '#d4a6c8', '#86bcb6'];
function colour(key) {
  let c = rain.colours.get(key);
  if (!c) {
    const i = rain.colours.size;
    c = i < palette.length ? palette[i] : `hsl(${((i * 137.508 + 200) % 360).toFixed(0)} 45% 55%)`;
    rain.colours.set(key, c);
  }
  return c;
}
const colourBy = () => $('colour-by').value;
function spanKey(s) { return colourBy() === 'session' ? s.c : s.f; }
function keyName(key) {
  if (colourBy() !== 'session') return key;
  const ss = rain.state && rain.state.sessions.find((x) => x.id === key);
  return ss ? ss.name : `session ${key}`;
}

// ---- rendering ----

function render(st) {
  $('hub-name').textContent = st.hub;
  const up = st.nodes.filter((n) => n.up).length;
  const running = st.maps.filter((m) => m.state === 'running').length;
  $('counts').innerHTML = `<b>${up}</b> node${up === 1 ? '' : 's'} up · <b>${st.sessions.length}</b> session${st.sessions.length === 1 ? '' : 's'} · <b>${running}</b> map${running === 1 ? '' : 's'} running`;
  renderNodes(st);
  renderEvents(st);
  renderMaps(st);
  renderModules(st);
  $('dropped').textContent = st.dropped > 0 ? `${st.dropped.toLocaleString('en')} calls left out of the stream` : '';
}

function streamTasks() {
  const per = new Map();
  const keys = new Map();
  const from = (rain.state ? rain.state.now : Date.now()) - 1000 * Number($('span').value);
  for (const s of rain.spans) {
    if (s.e < from) continue;
    per.set(s.n, (per.get(s.n) || 0) + s.x);
    const k = spanKey(s);
    keys.set(k, (keys.get(k) || 0) + s.x);
  }
  return { per, keys };
}

function renderNodes(st) {
  const { per } = streamTasks();
  $('nodes').tBodies[0].innerHTML = st.nodes.map((n) => {
    const data = n.parts ? `${bytes(n.data_bytes)} in ${n.parts} part${n.parts === 1 ? '' : 's'}` : 'no data';
    const mem = `${bytes(n.rss)} · ${n.instances} instance${n.instances === 1 ? '' : 's'} · ${data}`;
    return `<tr data-node="${esc(n.id)}" data-up="${n.up}" data-stream-tasks="${per.get(n.id) || 0}" class="${n.up ? '' : 'lost'}">` +
      `<td><b>${esc(n.id)}</b></td><td>${esc(n.host)}</td><td>${esc(n.os)}/${esc(n.arch)}</td><td class="r">${n.cores}</td>` +
      `<td>${esc(n.engine)}</td><td class="state">${n.up ? 'up since ' + clock(n.joined) : 'lost'}</td>` +
      `<td class="r">${rate(n.rate)}</td><td>${bar(n.share)}${Math.round(100 * n.share)} %</td>` +
      `<td class="r">${n.queued}</td><td class="r">${n.done.toLocaleString('en')}</td><td>${mem}</td>` +
      `<td class="r">${micros(n.rtt_us)}</td><td class="r">${n.restarts}</td></tr>`;
  }).join('') || '<tr><td colspan="13" class="empty">No node has joined the hub yet: start one with <code>rain node --join URL --token TOKEN</code>.</td></tr>';
}

function renderEvents(st) {
  $('events').innerHTML = st.events.slice(-30).reverse().map((e) =>
    `<li class="${esc(e.kind)}"><time>${clock(e.at)}</time>${esc(e.what)}</li>`).join('');
}

function renderMaps(st) {
  $('maps-empty').hidden = st.maps.length > 0;
  $('maps').tBodies[0].innerHTML = st.maps.map((m) => {
    const p = m.total > 0 ? m.done / m.total : 1;
    const pct = Math.floor(100 * p);
    const cls = m.state === 'running' ? '' : (m.state === 'done' && m.failed === 0 ? 'done' : 'failed');
    let state = m.state;
    if (m.state === 'running') state = `running · ${m.nodes} node${m.nodes === 1 ? '' : 's'}`;
    const notes = [];
    if (m.retried) notes.push(`${m.retried} retried`);
    if (m.failed) notes.push(`${m.failed} failed`);
    if (m.stolen) notes.push(`${m.stolen} stolen`);
    if (m.err) notes.push(m.err);
    if (notes.length) state += ` · ${notes.join(' · ')}`;
    const chunk = `<b>${m.chunk}</b>${m.auto ? ' (auto)' : ''} · ${m.chunks} chunk${m.chunks === 1 ? '' : 's'}<br>${esc(m.why)}`;
    const eta = m.state === 'running' ? duration(m.eta) : `took ${duration(m.elapsed / 1000)}`;
    return `<tr data-map="${esc(m.key)}" data-session="${esc(m.name)}" data-state="${esc(m.state)}" data-done="${m.done}" data-total="${m.total}" data-progress="${pct}">` +
      `<td>${esc(m.name)}</td><td><b>${esc(m.func)}</b> × ${m.total.toLocaleString('en')}</td>` +
      `<td>${bar(p, cls)}${pct} %</td><td class="r">${m.done.toLocaleString('en')}/${m.total.toLocaleString('en')}</td>` +
      `<td class="r">${m.state === 'running' && !(m.rate > 0) ? '–' : rate(m.rate)}</td><td class="why">${chunk}</td><td class="r">${eta}</td>` +
      `<td class="state-${esc(m.state)}">${esc(state)}</td></tr>`;
  }).join('');
}

function renderModules(st) {
  const nodes = st.nodes.filter((n) => n.up);
  const wide = nodes.length <= 12; // a column per node; beyond, counts
  const head = wide ? nodes.map((n) => `<th>${esc(n.id)}</th>`).join('') : '<th>held by</th>';
  $('modules').tHead.innerHTML = `<tr><th>module</th><th>SHA-256</th><th class="r">size</th>${head}</tr>`;
  $('modules').tBodies[0].innerHTML = st.modules.map((m) => {
    let cells;
    if (wide) {
      cells = nodes.map((n) => {
        const t = m.nodes[n.id];
        return `<td>${t ? `<span class="chip ${esc(t)}">${esc(t)}</span>` : '–'}</td>`;
      }).join('');
    } else {
      const states = Object.values(m.nodes);
      const compiled = states.filter((t) => t === 'compiled').length;
      cells = `<td>${states.length} node${states.length === 1 ? '' : 's'} (${compiled} compiled)</td>`;
    }
    return `<tr data-module="${esc(m.sha)}" data-nodes="${Object.keys(m.nodes).length}"><td><b>${esc(m.name)}</b></td>` +
      `<td class="sha" title="${esc(m.sha)}">${esc(m.sha.slice(0, 16))}…</td><td class="r">${bytes(m.size)}</td>${cells}</tr>`;
  }).join('') || `<tr><td colspan="${3 + (wide ? nodes.length : 1)}" class="empty">No module loaded yet.</td></tr>`;
  const data = st.nodes.flatMap((n) => n.data.map((d) => ({ node: n.id, ...d })));
  $('data-empty').hidden = data.length > 0;
  $('data').hidden = data.length === 0;
  $('data').tBodies[0].innerHTML = data.map((d) => `<tr data-part="${esc(d.hash)}" data-node="${esc(d.node)}">` +
    `<td>${esc(d.node)}</td><td class="sha" title="${esc(d.hash)}">${esc(d.hash.slice(0, 16))}…</td>` +
    `<td class="r">${bytes(d.size)}</td><td>${esc(d.for.join(', '))}</td></tr>`).join('');
}

// ---- the task stream ----

// The spans are drawn into an offscreen canvas when an update brings new ones (4 times a
// second), for the time ref; each animation frame copies it, shifted left by the time since
// ref, under the axis and the rows' labels. A frame costs one copy however many spans there are.
const stream = { off: document.createElement('canvas'), ref: 0, key: '', dirty: true };
const markDirty = () => { stream.dirty = true; };

function drawStream() {
  requestAnimationFrame(drawStream);
  const st = rain.state;
  const canvas = $('stream');
  if (!st) return;
  const ids = st.nodes.map((n) => n.id);
  const seen = new Set(ids);
  for (const s of rain.spans) if (!seen.has(s.n)) { seen.add(s.n); ids.push(s.n); }
  const labelW = 120, axisH = 18;
  const rowH = Math.max(2, Math.min(24, Math.floor(480 / Math.max(1, ids.length))));
  const cssW = canvas.clientWidth, cssH = axisH + rowH * Math.max(1, ids.length) + 4;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
    canvas.style.height = `${cssH}px`;
  }
  const span = 1000 * Number($('span').value);
  const now = Date.now() - rain.offset;
  const plotW = Math.max(10, cssW - labelW - 6), plotH = rowH * ids.length;
  const key = [ids.join(','), rowH, plotW, span, dpr, colourBy()].join('|');
  if (stream.dirty || key !== stream.key || now - stream.ref > 2000) {
    drawSpans(ids, rowH, plotW, plotH, span, now, dpr);
    stream.key = key;
    stream.dirty = false;
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssW, cssH);
  const from = now - span;
  const x = (t) => labelW + ((t - from) / span) * plotW;
  ids.forEach((id, i) => {
    const y = axisH + i * rowH;
    g.fillStyle = i % 2 ? '#fbfbfc' : '#f3f4f7';
    g.fillRect(labelW, y, plotW, rowH);
    g.fillStyle = '#1d2330';
    g.font = '11px system-ui, sans-serif';
    if (rowH >= 10) g.fillText(id.length > 18 ? id.slice(0, 17) + '…' : id, 4, y + rowH / 2 + 4);
  });
  // The spans, as drawn for stream.ref: shifted left by the time since.
  const dx = ((now - stream.ref) / span) * plotW;
  g.save();
  g.beginPath();
  g.rect(labelW, axisH, plotW, plotH);
  g.clip();
  g.drawImage(stream.off, 0, 0, stream.off.width, stream.off.height, labelW - dx, axisH, plotW, plotH);
  g.restore();
  // The axis: a tick every 5 or 10 s.
  g.fillStyle = '#6b7385';
  g.strokeStyle = 'rgba(107, 115, 133, 0.25)';
  const step = span > 30000 ? 10000 : 5000;
  for (let t = Math.ceil(from / step) * step; t <= now; t += step) {
    const px = x(t);
    g.beginPath(); g.moveTo(px, axisH - 4); g.lineTo(px, cssH); g.stroke();
    g.fillText(`-${Math.round((now - t) / 1000)} s`, px + 2, 11);
  }
}

// drawSpans draws the spans of the last span ms before ref into the offscreen canvas, a row of
// rowH per node of ids.
function drawSpans(ids, rowH, plotW, plotH, span, ref, dpr) {
  const off = stream.off;
  off.width = Math.round(plotW * dpr);
  off.height = Math.max(1, Math.round(plotH * dpr));
  const g = off.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, plotW, plotH);
  stream.ref = ref;
  const from = ref - span;
  const row = new Map(ids.map((id, i) => [id, i]));
  const pad = rowH >= 6 ? 1 : 0;
  for (const s of rain.spans) {
    if (s.e < from) continue;
    const x0 = Math.max(0, ((s.s - from) / span) * plotW), x1 = ((s.e - from) / span) * plotW;
    const y = row.get(s.n) * rowH + pad, h = rowH - 2 * pad, w = Math.max(1, x1 - x0);
    g.fillStyle = s.k === 3 ? '#333' : colour(spanKey(s));
    g.fillRect(x0, y, w, h);
    if (s.k === 1) { g.fillStyle = '#d63a3a'; g.fillRect(x0, y, w, Math.max(2, h / 3)); }
    if (s.k === 2 && h >= 4) { g.setLineDash([3, 2]); g.strokeStyle = '#e08a1e'; g.lineWidth = 1.5; g.strokeRect(x0, y, w, h); g.setLineDash([]); }
  }
}

setInterval(() => {
  // The legend: what the colours stand for, and how many calls each has in view.
  if (!rain.state) return;
  const { keys } = streamTasks();
  $('legend').innerHTML = [...keys.entries()].map(([k, n]) =>
    `<li data-key="${esc(k)}" data-tasks="${n}"><i style="background:${colour(k)}"></i>${esc(keyName(k))} <span>${n.toLocaleString('en')} calls</span></li>`).join('');
}, 500);

$('colour-by').addEventListener('change', () => { rain.colours.clear(); markDirty(); });
$('span').addEventListener('change', markDirty);
connect();
requestAnimationFrame(drawStream);
