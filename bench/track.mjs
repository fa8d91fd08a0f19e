#!/usr/bin/env node
// The track() benchmark: the main-thread cost of one
//   vitrina.track('view', { item: 'SKU-000123', category: 'shoes/running', price: 89.9, currency: 'EUR' })
// in headless Chromium, with the built script-tag widget delivering to the real reference server.
// Not a timed test: it asserts nothing, it measures and prints.
//
//   node scripts/build.mjs && cargo build --release -p vitrina-server   # builds nothing itself
//   node bench/track.mjs [--calls 10000] [--batch 100] [--no-isolation]
//
// How: performance.now() is coarse in Chromium (100 µs, 5 µs when the page is cross-origin
// isolated), so calls are timed in batches (100 batches of 100 calls after 1,000 warm-up calls)
// and the figure is the median of the batch averages, with p10/p90. Between batches the page
// yields to the event loop (setTimeout 0) so the work the widget defers (storing the profile and
// outbox, sealing and sending batches) runs outside the timed loop, as it would between a shop's
// calls. That deferred work is measured separately ("all-in"): the renderer main thread's busy
// time (Chrome DevTools Protocol Performance.getMetrics TaskDuration) over the same 10,000 calls
// and 1.5 s after them, minus the same loop calling an empty function, per call. (It does not
// wait for the whole outbox to be delivered: a backlog drains one batch per ~2 s, see the report.)
//
// The page is served by a tiny node server here with COOP/COEP headers (cross-origin isolation,
// 5 µs timers); the widget files come from www/dist and /v1/collect is proxied to
// target/release/vitrina-server started through tests/e2e/harness.mjs.
//
// Prints `track(): median X µs per call (p10 Y, p90 Z) over 10,000 calls` and a JSON line, and
// writes bench/track-results.json (ignored by git). References: Snowplow ~92 µs, Segment ~2.3 ms per call.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DIST, ROOT, SERVER_BIN, WIDGET_FILES, launchBrowser, newPage, startServer } from '../tests/e2e/harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CALLS = opt('--calls', 10000);
const BATCH = opt('--batch', 100);
const WARMUP = opt('--warmup', 1000);
const ISOLATE = !args.includes('--no-isolation');
const SETTLE_MS = 1500;

for (const f of WIDGET_FILES) {
  if (!fs.existsSync(path.join(DIST, f))) {
    console.error(`${path.join(DIST, f)} is missing: run \`node scripts/build.mjs\` first (this benchmark builds nothing).`);
    process.exit(2);
  }
}
if (!fs.existsSync(SERVER_BIN)) {
  console.error(`${SERVER_BIN} is missing: run \`cargo build --release -p vitrina-server\` first.`);
  process.exit(2);
}

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>track() benchmark</title>
<link rel="icon" href="data:,">
<script>window.vitrina=window.vitrina||function(){(vitrina.q=vitrina.q||[]).push(arguments)};</script>
<script async src="/vitrina.js" data-site="bench" data-endpoint="/v1/collect" data-auto-capture="false"></script>
</head><body><h1>track() benchmark</h1></body></html>
`;
const MIME = { '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm' };

/** The page and the widget with COOP/COEP (unless --no-isolation); /v1/collect proxied to the real server. */
async function pageServer(upstream) {
  const isolation = ISOLATE
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' }
    : {};
  const server = http.createServer(async (req, res) => {
    try {
      const { pathname } = new URL(req.url, 'http://x');
      if (pathname === '/v1/collect') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const r = await fetch(upstream + '/v1/collect', { method: req.method, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
        const headers = { ...isolation, 'content-type': r.headers.get('content-type') || 'application/json' };
        if (r.headers.has('retry-after')) headers['retry-after'] = r.headers.get('retry-after');
        res.writeHead(r.status, headers).end(Buffer.from(await r.arrayBuffer()));
        return;
      }
      if (pathname === '/' || pathname === '/bench.html') {
        res.writeHead(200, { ...isolation, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE);
        return;
      }
      const name = pathname.slice(1);
      if (WIDGET_FILES.includes(name)) {
        res.writeHead(200, { ...isolation, 'content-type': MIME[path.extname(name)], 'cache-control': 'no-store' });
        fs.createReadStream(path.join(DIST, name)).pipe(res);
        return;
      }
      res.writeHead(404, isolation).end('not found');
    } catch (e) {
      res.writeHead(502).end(String(e && e.message));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

let server;
let site;
let browser;
try {
  server = await startServer();
  site = await pageServer(server.url);
  browser = await launchBrowser();
  const page = await newPage(browser);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' }).catch(() => cdp.send('Performance.enable'));
  const taskSeconds = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value;

  await page.goto(site.url + '/bench.html');
  await page.waitForFunction(() => window.vitrina && window.vitrina.ready === true, null, { timeout: 15000 });
  const env = await page.evaluate(() => {
    // Timer granularity: the smallest non-zero step of performance.now().
    let min = Infinity;
    let last = performance.now();
    for (let i = 0; i < 200000 && min > 0.0005; i++) {
      const t = performance.now();
      if (t !== last) {
        min = Math.min(min, t - last);
        last = t;
      }
    }
    return { isolated: self.crossOriginIsolated === true, granularityUs: min * 1000, userAgent: navigator.userAgent };
  });

  // One measured run of `calls` calls of `fnName` in batches; yields between batches.
  const runBatches = (fnName) =>
    page.evaluate(
      async ({ calls, batch, warmup, fnName }) => {
        const props = { item: 'SKU-000123', category: 'shoes/running', price: 89.9, currency: 'EUR' };
        const noop = () => false;
        const f = fnName === 'track' ? () => window.vitrina.track('view', props) : () => noop('view', props);
        const pause = () => new Promise((r) => setTimeout(r, 0));
        let ok = 0;
        for (let i = 0; i < warmup; i++) {
          ok += f() === true;
          if (i % batch === batch - 1) await pause();
        }
        await new Promise((r) => setTimeout(r, 1500)); // let the warm-up's deferred work run
        const per = [];
        const t0 = performance.now();
        for (let b = 0; b < calls / batch; b++) {
          const s = performance.now();
          for (let i = 0; i < batch; i++) ok += f() === true;
          per.push(((performance.now() - s) * 1000) / batch);
          await pause();
        }
        return { per, ok, wallMs: performance.now() - t0 };
      },
      { calls: CALLS, batch: BATCH, warmup: WARMUP, fnName },
    );
  // 1. track(): synchronous cost, batch averages.
  const m0 = await taskSeconds();
  const track = await runBatches('track');
  await new Promise((r) => setTimeout(r, SETTLE_MS)); // the deferred saves and sends of the last batches
  const m1 = await taskSeconds();
  // 2. The same loop with an empty function, over the same settle time: the harness's own main-thread time.
  await runBatches('noop');
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const m2 = await taskSeconds();

  const sorted = [...track.per].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const p10 = quantile(sorted, 0.1);
  const p90 = quantile(sorted, 0.9);
  const allInUs = (((m1 - m0) - (m2 - m1)) * 1e6) / CALLS;
  const status = await page.evaluate(() => window.vitrina.status());

  console.log(`track(): median ${round(median)} µs per call (p10 ${round(p10)}, p90 ${round(p90)}) over ${CALLS.toLocaleString('en')} calls`);
  console.log(`  all-in (deferred storage + delivery included, main-thread TaskDuration, harness subtracted): ${round(allInUs)} µs per call`);
  console.log(`  cross-origin isolated: ${env.isolated}; performance.now() step ${round(env.granularityUs, 1)} µs; ` +
    `${track.ok}/${CALLS + WARMUP} calls returned true; outbox after: ${status.outbox} events waiting, ${status.dropped} dropped by the outbox bound and not yet reported; reference: Snowplow ~92 µs, Segment ~2.3 ms per call`);
  const result = {
    bench: 'track', calls: CALLS, batch: BATCH, warmup: WARMUP, median_us: round(median, 3), p10_us: round(p10, 3), p90_us: round(p90, 3),
    all_in_us: round(allInUs, 3), cross_origin_isolated: env.isolated, timer_step_us: round(env.granularityUs, 2),
    track_true: track.ok, chromium: env.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? env.userAgent, date: new Date().toISOString(),
  };
  console.log(JSON.stringify(result));
  fs.writeFileSync(path.join(ROOT, 'bench', 'track-results.json'), JSON.stringify(result, null, 2) + '\n');
  if (track.ok !== CALLS + WARMUP) process.exitCode = 1;
} finally {
  await browser?.close();
  await site?.close();
  await server?.stop();
}
