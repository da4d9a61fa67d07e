// Opens a notebook in the classic Jupyter Notebook with Debian's headless Chromium, runs all
// its cells, waits until every code cell has run and the kernel is idle, saves a screenshot,
// and of its first chart, and prints a JSON report of the page on stdout: each cell's outputs
// as the notebook holds them, and what the page rendered of them. The checks are in notebooks/browser_test.go.
//
// Usage: [RAIN_WAIT_TEXT=TEXT] node run.mjs URL SCREENSHOT.png USER_DATA_DIR   (URL: the notebook's
// page, with ?token=; TEXT: wait for it to show after the cells have run)
import { chromium } from 'playwright-core';

const [url, screenshot, userDataDir] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

  await page.goto(url);
  // The notebook is loaded and its kernel connected.
  await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded &&
    Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected(), null, { timeout: 30000 });
  const started = Date.now();
  // Cell → Run All.
  await page.evaluate(() => Jupyter.menubar.actions.call('jupyter-notebook:run-all-cells'));
  // Every code cell has an execution count (not "*") and the kernel is idle.
  await page.waitForFunction(() => Jupyter.notebook.get_cells()
    .filter((c) => c.cell_type === 'code')
    .every((c) => typeof c.input_prompt_number === 'number') &&
    document.querySelector('#kernel_indicator_icon.kernel_idle_icon') !== null, null, { timeout: 45000, polling: 100 });
  const ranMs = Date.now() - started;
  // What background work shows after the cells have run (RAIN_WAIT_TEXT), such as a load's
  // display updated by the kernel once the nodes have compiled.
  const wait = process.env.RAIN_WAIT_TEXT;
  if (wait) {
    await page.waitForFunction((text) => document.querySelector('#notebook').innerText.includes(text), wait,
      { timeout: 60000, polling: 100 });
  }
  const cells = await page.evaluate(() => Jupyter.notebook.get_cells().map((c) => {
    const json = c.toJSON();
    const out = c.element[0].querySelector('.output');
    return {
      ...json,
      rendered: {
        text: out ? out.innerText : '',
        html_tables: out ? out.querySelectorAll('.output_html table').length : 0,
        // Each image as drawn: the start of the source the browser chose (a chart's <picture>
        // offers SVG and PNG), its size on the page, so that a chart collapsed to nothing fails,
        // and its alt text.
        images: out ? Array.from(out.querySelectorAll('img')).map((i) => {
          const r = i.getBoundingClientRect();
          return { src: i.currentSrc.slice(0, 40), width: r.width, height: r.height, alt: i.alt, complete: i.complete && i.naturalWidth > 0 };
        }) : [],
        errors: out ? Array.from(out.querySelectorAll('.output_error')).map((e) => e.innerText) : [],
      },
    };
  }));
  // The classic notebook scrolls inside #site, so a full-page screenshot needs a viewport as
  // tall as the notebook.
  const height = await page.evaluate(() => document.querySelector('#header').offsetHeight +
    document.querySelector('#notebook').scrollHeight);
  await page.setViewportSize({ width: 1280, height: Math.min(height, 16000) });
  await page.evaluate(() => Jupyter.notebook.scroll_to_top());
  await page.screenshot({ path: screenshot, fullPage: true });
  // The first chart alone, at full size, next to the page's picture (NAME-chart.png).
  const chart = page.locator('.output_area:has(svg), .output_area:has(picture)').first();
  if (await chart.count() > 0) {
    await chart.scrollIntoViewIfNeeded();
    await chart.screenshot({ path: screenshot.replace(/\.png$/, '-chart.png') });
  }
  process.stdout.write(JSON.stringify({ ran_ms: ranMs, problems, cells }));
} catch (e) {
  // Leave a picture and the state of the page for whoever reads the failure.
  const page = context.pages()[0];
  if (page) {
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    const state = await page.evaluate(() => ({
      title: document.title,
      jupyter: !!window.Jupyter,
      loaded: !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded),
      kernel: document.querySelector('#kernel_indicator_icon')?.className,
      prompts: window.Jupyter && Jupyter.notebook ? Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code').map((c) => c.input_prompt_number) : null,
    })).catch((err) => String(err));
    console.error('page state:', JSON.stringify(state));
  }
  console.error(problems.join('\n'));
  throw e;
} finally {
  await context.close();
}
