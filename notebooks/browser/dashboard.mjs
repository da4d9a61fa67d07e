// Opens Rain's dashboard with Debian's headless Chromium and watches it, for the dashboard's
// browser test (cmd/rain/dashboard_test.go): it prints "ready" once the page is live, then reads
// the page every 100 ms — its nodes, its maps and the task stream's calls per node (each span
// counted once, however long the maps take) and per session — until it has seen RAIN_DASH_MAPS maps run and reach 100 %. It then drops the page's
// connection and waits for the page to reconnect by itself, saves screenshots (one while maps
// ran, one at the end), and prints a JSON report of what it saw on its last line.
//
// Usage: RAIN_DASH_MAPS=N node dashboard.mjs URL SCREENSHOT.png USER_DATA_DIR   (URL with ?token=)
import { chromium } from 'playwright-core';

const [url, screenshot, userDataDir] = process.argv.slice(2);
const want = Number(process.env.RAIN_DASH_MAPS || '1');
const timeout = Number(process.env.RAIN_DASH_TIMEOUT_MS || '120000');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
const report = { problems, nodes: {}, maps: {}, stream: {}, legend: {}, samples: 0, reconnected: false };
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(url);
  await page.waitForFunction(() => window.rainDash && window.rainDash.updates > 0, null, { timeout: 30000 });
  console.log('ready');

  // What the page shows, read from its DOM.
  const read = () => page.evaluate(() => ({
    link: document.getElementById('link').dataset.status,
    nodes: [...document.querySelectorAll('#nodes tr[data-node]')].map((r) => ({
      id: r.dataset.node, up: r.dataset.up === 'true', tasks: Number(r.dataset.streamTasks) })),
    maps: [...document.querySelectorAll('#maps tr[data-map]')].map((r) => ({
      key: r.dataset.map, session: r.dataset.session, state: r.dataset.state,
      progress: Number(r.dataset.progress), done: Number(r.dataset.done), total: Number(r.dataset.total),
      text: r.innerText })),
    // The task stream's spans, each counted once across samples: the page keeps the last
    // minute of them, and a loaded machine's maps can last longer than that.
    spans: (() => {
      const seen = window.rainSeen || (window.rainSeen = new Map());
      for (const s of window.rainDash.spans) seen.set(`${s.n} ${s.c} ${s.m} ${s.s} ${s.e}`, s);
      return seen.size;
    })(),
    legend: [...document.querySelectorAll('#legend li[data-key]')].map((l) => ({ key: l.dataset.key, text: l.innerText, tasks: Number(l.dataset.tasks) })),
  }));
  const deadline = Date.now() + timeout;
  let shotWhileRunning = false;
  for (;;) {
    const s = await read();
    report.samples++;
    for (const n of s.nodes) {
      const r = report.nodes[n.id] || (report.nodes[n.id] = { up: false, maxTasks: 0 });
      r.up = r.up || n.up;
      r.maxTasks = Math.max(r.maxTasks, n.tasks);
    }
    for (const m of s.maps) {
      const r = report.maps[m.key] || (report.maps[m.key] = { session: m.session, total: m.total, seenRunning: 0, runningProgress: [], final: null });
      if (m.state === 'running') {
        r.seenRunning++;
        if (r.runningProgress.at(-1) !== m.progress) r.runningProgress.push(m.progress);
      } else {
        r.final = { state: m.state, progress: m.progress, done: m.done, text: m.text };
      }
    }
    for (const l of s.legend) {
      const r = report.legend[l.key] || (report.legend[l.key] = { text: l.text, maxTasks: 0 });
      r.maxTasks = Math.max(r.maxTasks, l.tasks);
      r.text = l.text;
    }
    // The picture of the maps running: once each is a quarter done, or as soon as one ends.
    const running = s.maps.filter((m) => m.state === 'running' && m.progress >= 25 && m.progress < 100).length;
    const ended = s.maps.some((m) => m.state !== 'running');
    if (!shotWhileRunning && (running >= Math.min(2, want) || ended && s.maps.some((m) => m.state === 'running'))) {
      shotWhileRunning = true;
      await page.screenshot({ path: screenshot.replace(/\.png$/, '-running.png'), fullPage: true });
    }
    const finished = Object.values(report.maps).filter((m) => m.seenRunning > 0 && m.final && m.final.progress === 100).length;
    if (finished >= want) break;
    if (Date.now() > deadline) {
      problems.push(`timeout: ${finished} of ${want} maps seen running and ending at 100 %`);
      break;
    }
    await page.waitForTimeout(100);
  }
  // The page loses its connection: it must notice (no update for 3 s) and open it again.
  const before = await page.evaluate(() => { const d = window.rainDash; d.source.close(); return { updates: d.updates, reconnects: d.reconnects }; });
  try {
    await page.waitForFunction((b) => window.rainDash.reconnects > b.reconnects && window.rainDash.updates > b.updates + 2 &&
      document.getElementById('link').dataset.status === 'live', before, { timeout: 15000, polling: 100 });
    report.reconnected = true;
  } catch (e) {
    problems.push(`no reconnection: ${e.message}`);
  }
  await read();
  report.stream = await page.evaluate(() => {
    const per = {};
    for (const s of window.rainSeen.values()) per[s.n] = (per[s.n] || 0) + s.x;
    return { spans: window.rainSeen.size, calls: per, updates: window.rainDash.updates };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  problems.push(`driver: ${e.stack || e.message}`);
} finally {
  await context.close();
}
console.log(JSON.stringify(report));
