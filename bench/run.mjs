#!/usr/bin/env node
// `npm run bench`: Vitrina against the trackers shops load today, in one headless
// Chromium session, against local recording servers, on the same workloads.
// See bench/README.md for the method. Writes bench/results.json.
//
//   node bench/run.mjs            everything
//   node bench/run.mjs posthog    only some tools (Vitrina is always run: it is the reference)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startPhase } from './lib/recorder.mjs';
import { defineTools, KINDS } from './lib/tools.mjs';
import { PAGE_HTML, benchScript } from './lib/page.mjs';
import { prepareRanking, RANK_HTML, rankAdapter } from './lib/ranking.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const NM = path.join(BENCH, 'node_modules');
const CACHE = path.join(NM, '.cache', 'vitrina-bench');
const RESULTS = path.join(BENCH, 'results.json');
const SERVER_BIN = path.join(ROOT, 'target', 'release', 'vitrina-server');
// Research data, read in place (never copied into the repository).
const DIGINETICA = path.join(process.env.VITRINA_SHARED_DATA || path.resolve(ROOT, '..', 'shared', 'data'), 'diginetica', 'train_sessions.txt');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
  // PostHog drops every event of an automated browser (navigator.webdriver) as a bot.
  '--disable-blink-features=AutomationControlled',
  // Nothing leaves the machine: any other host fails at once (and is reported).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

// Bounds: each phase has a timeout; a tool that fails gets nulls and a note.
const T = {
  phase: 45000, // one workload of one tool, all included
  settle: 500, // main-thread time after "ready" still counted as init
  initReps: 5, // init samples per tool (median)
  w2Batches: 20,
  w2Size: 50,
  w2Quiet: 3500, // PostHog sends its queue every 3 s
  w2Max: 25000,
  budget: 270000, // the whole run: later phases are skipped (with a note) once it is spent
  // Vitrina's ranking phase (bench/lib/ranking.mjs).
  rankShoppers: 5, // held-out Diginetica sessions replayed, each in a fresh browser context
  rankViews: 10, // product views per shopper
  rankGap: 80, // ms between two views
  rankCatalog: +process.env.BENCH_RANK_CATALOG || 20000, // items in the shop's catalogue feed (the widget keeps at most 20,000)
  rankLimit: 8, // items in the for-you slot
  rankBatches: 25, // per shopper: at most this many batches of recommend() calls (of ≥ 2 ms, ≤ 20 calls each)…
  rankMaxMs: 2000, // …and about this long (at least 5 batches)
  rankSettle: 10000, // at most this long for the catalogue and the model shards to arrive
  rankShopper: 30000, // timeout of one shopper
};
let benchStart = Infinity; // when the browser is up: installs and builds do not count
const spent = () => Date.now() - benchStart >= T.budget;
const overBudget = (notes, what) => {
  if (!spent()) return false;
  notes.push(`${what} skipped: the run's time budget (${T.budget / 60000} min) was spent`);
  warn(`${what} skipped: the run's time budget was spent`);
  return true;
};

const t0 = Date.now();
const log = (m) => console.log(`[bench] ${m}`);
const warn = (m) => console.error(`[bench] warning: ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secs = (ms) => (ms < 60000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60000)}m${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')}s`);
const median = (xs) => {
  const a = xs.filter((x) => typeof x === 'number' && isFinite(x)).sort((p, q) => p - q);
  if (!a.length) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
const quantile = (xs, q) => {
  const a = xs.filter((x) => typeof x === 'number' && isFinite(x)).sort((p, r) => p - r);
  return a.length ? a[Math.min(a.length - 1, Math.floor(q * a.length))] : null;
};
const round = (x, d = 0) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

// The phase in progress: a timeout closes its page and servers, so nothing of a
// timed-out phase keeps running into the next one.
let current = null;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        if (current) current.abort();
        reject(new Error(`${what} timed out after ${ms / 1000} s`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function runCmd(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

// ---------------------------------------------------------------- setup

/** bench/node_modules from bench/package-lock.json (idempotent: skipped when every package is there). */
async function ensureDeps() {
  const pkg = JSON.parse(fs.readFileSync(path.join(BENCH, 'package.json'), 'utf8'));
  const want = pkg.dependencies;
  const missing = Object.keys(want).filter((name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(NM, name, 'package.json'), 'utf8')).version !== want[name];
    } catch {
      return true;
    }
  });
  if (!missing.length) return log('bench dependencies: installed, skipped');
  const lock = fs.existsSync(path.join(BENCH, 'package-lock.json'));
  log(`installing the trackers into bench/node_modules (${missing.join(', ')}) with npm ${lock ? 'ci' : 'install'}…`);
  const t = Date.now();
  const code = await runCmd('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], BENCH);
  if (code !== 0) throw new Error(`npm ${lock ? 'ci' : 'install'} in bench/ failed (exit ${code})`);
  log(`bench dependencies installed (${secs(Date.now() - t)})`);
}

async function ensureRootTools() {
  for (const m of ['playwright-core', 'esbuild']) {
    if (!fs.existsSync(path.join(ROOT, 'node_modules', m, 'package.json'))) {
      throw new Error(`${m} is missing from the repository's node_modules: run \`npm run setup\` (or \`npm ci\`) first`);
    }
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run setup\` (installs Debian's chromium)`);
}

async function ensureVitrinaBuild() {
  const files = ['vitrina.js', 'vitrina-core.js', 'vitrina_core_bg.wasm'].map((f) => path.join(ROOT, 'www', 'dist', f));
  if (files.every((f) => fs.existsSync(f))) return log('vitrina: release build in www/dist, used as is');
  log('vitrina: www/dist is incomplete, building the release (node scripts/build.mjs)…');
  const code = await runCmd(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], ROOT);
  if (code !== 0 || !files.every((f) => fs.existsSync(f))) throw new Error('the Vitrina build failed; see the output above');
}

/** IIFE bundles for packages without a browser build (Plausible ships only ESM). */
async function buildBundles() {
  fs.mkdirSync(CACHE, { recursive: true });
  const esbuild = await import('esbuild');
  const out = path.join(CACHE, 'plausible.iife.js');
  await esbuild.build({
    stdin: { contents: "export { init, track } from '@plausible-analytics/tracker';", resolveDir: BENCH, loader: 'js' },
    bundle: true,
    format: 'iife',
    globalName: 'Plausible',
    minify: true,
    outfile: out,
    logLevel: 'error',
  });
  log(`plausible: esbuild IIFE of { init, track } -> ${path.relative(ROOT, out)}`);
}

function measureFiles(files) {
  if (!files.length) return null;
  const total = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of files) {
    const buf = fs.readFileSync(f);
    total.raw += buf.length;
    total.gzip += zlib.gzipSync(buf, { level: 9 }).length;
    total.brotli += zlib.brotliCompressSync(buf, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_LGWIN]: zlib.constants.BROTLI_MAX_WINDOW_BITS,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }).length;
  }
  return total;
}

// ---------------------------------------------------------------- browser

let browser;
let USER_AGENT;

async function launch() {
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  // A normal Chrome user agent: PostHog drops events from "HeadlessChrome" as a bot.
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  USER_AGENT = (await page.evaluate(() => navigator.userAgent)).replace(/HeadlessChrome/g, 'Chrome');
  await ctx.close();
  log(`chromium ${browser.version()} (headless, fresh profile), user agent "${USER_AGENT}"`);
}

/** A fresh context and page on the phase's page, with Chromium's task metrics on. */
async function openPage(phase, diag) {
  const ctx = await browser.newContext({ userAgent: USER_AGENT });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => diag.errors.add(`page error: ${String(e.message).split('\n')[0].slice(0, 200)}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) diag.errors.add(`console.error: ${m.text().slice(0, 200)}`);
  });
  page.on('request', (req) => {
    const u = req.url();
    if (!/^(https?:\/\/127\.0\.0\.1[:/]|data:|blob:|about:)/.test(u)) {
      try {
        diag.external.add(new URL(u).host);
      } catch {
        diag.external.add(u.slice(0, 60));
      }
    }
  });
  const cdp = await ctx.newCDPSession(page);
  await page.goto(phase.pageUrl, { waitUntil: 'load' });
  await cdp.send('Performance.enable');
  return { ctx, page, cdp };
}

async function metrics(cdp) {
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(list.map((x) => [x.name, x.value * 1000]));
  return { busy: (m.TaskDuration || 0) - (m.DevToolsCommandDuration || 0), script: m.ScriptDuration || 0, compile: m.V8CompileDuration || 0 };
}

/** Milliseconds the page's main thread has been busy with tasks other than DevTools commands. */
async function busyMs(cdp) {
  return (await metrics(cdp)).busy;
}

async function measureInit(s) {
  const m0 = await metrics(s.cdp);
  const r = await s.page.evaluate(() => window.__run.init());
  if (r && r.error) throw new Error(`could not start: ${r.error.split('\n')[0]}`);
  await sleep(T.settle);
  const m1 = await metrics(s.cdp);
  return { busy: m1.busy - m0.busy, script: m1.script - m0.script, compile: m1.compile - m0.compile, readyMs: r.readyMs };
}

// ---------------------------------------------------------------- phases

const fileCache = new Map();
const readFile = (p) => {
  if (!fileCache.has(p)) fileCache.set(p, fs.readFileSync(p));
  return fileCache.get(p);
};

function newPhase(tool, { coi = false, html = null } = {}) {
  return startPhase({
    coi,
    html: () => html || PAGE_HTML(tool.name),
    pageFile: (p, phase) => {
      if (p === '/bench.js') return { body: benchScript(tool, phase.collectorOrigin), type: 'text/javascript; charset=utf-8' };
      const f = tool.pageFiles[p];
      return f ? { body: f.body ?? readFile(f.path), type: f.type } : null;
    },
    collectorFiles: tool.collectorFiles,
    collect: (r, body, phase) => tool.collect(r, body, phase),
  });
}

const eventsOf = (phase) => phase.requests.filter((r) => r.side === 'collector').flatMap((r) => r.events || []);
const workloadCount = (phase) => eventsOf(phase).filter((e) => KINDS.includes(e.name)).length;

/**
 * Waits until the collector has `expected` workload events and no request for `quiet` ms,
 * or no request at all for `idle` ms, or `max` ms have passed. Returns the time waited.
 */
async function waitDelivered(phase, { expected = Infinity, quiet = 600, idle = quiet, max = 6000 }) {
  const start = Date.now();
  for (;;) {
    const since = Date.now() - Math.max(phase.lastAt, start);
    if (workloadCount(phase) >= expected && since >= quiet) break;
    if (since >= idle || Date.now() - start >= max || phase.aborted) break;
    await sleep(50);
  }
  return Date.now() - start;
}

/** Counts what the collector received during a phase (scripts apart). */
function summarize(phase, tool) {
  const col = phase.requests.filter((r) => r.side === 'collector');
  const sdk = col.filter((r) => r.kind !== 'script');
  const seen = new Set();
  const delivered = Object.fromEntries(KINDS.map((k) => [k, 0]));
  const extra = {};
  let duplicates = 0;
  for (const e of sdk.flatMap((r) => r.events || [])) {
    if (e.id != null) {
      if (seen.has(e.id)) {
        duplicates++;
        continue;
      }
      seen.add(e.id);
    }
    if (KINDS.includes(e.name)) delivered[e.name]++;
    else extra[e.name] = (extra[e.name] || 0) + 1;
  }
  const sum = (rs, f) => rs.reduce((n, r) => n + f(r), 0);
  const served = (rs) => sum(rs.filter((r) => r.servedBytes && r.path !== '/bench.js'), (r) => r.servedBytes);
  return {
    requests: sdk.length,
    event_requests: sdk.filter((r) => r.kind === 'event').length,
    preflights: sdk.filter((r) => r.kind === 'preflight').length,
    config_requests: sdk.filter((r) => r.kind === 'config').length,
    other_requests: sdk.filter((r) => !['event', 'preflight', 'config'].includes(r.kind)).map((r) => `${r.method} ${r.path}`),
    body_bytes: sum(sdk, (r) => r.body.length),
    raw_body_bytes: sum(sdk, (r) => r.rawBodyBytes ?? r.body.length),
    header_bytes: sum(sdk, (r) => r.headBytes),
    query_bytes: sum(sdk, (r) => r.query.length),
    delivered,
    delivered_total: KINDS.reduce((n, k) => n + delivered[k], 0),
    duplicates,
    extra_events: extra,
    downloaded_script_bytes: served(phase.requests),
    collector_errors: col.filter((r) => r.error).map((r) => `${r.method} ${r.path}: ${r.error}`),
    preflight_headers: [...new Set(sdk.filter((r) => r.kind === 'preflight').map((r) => r.headers['access-control-request-headers'] || ''))],
    methods: [...new Set(sdk.map((r) => `${r.method} ${r.path}${r.headers['content-type'] ? ` (${r.headers['content-type']})` : ''}`))],
  };
}

async function inPhase(tool, opts, diag, fn) {
  const phase = await newPhase(tool, opts);
  let s = null;
  const me = {
    abort() {
      phase.aborted = true;
      if (s) s.ctx.close().catch(() => {});
    },
  };
  current = me;
  try {
    s = await openPage(phase, diag);
    if (phase.aborted) throw new Error('aborted');
    return await fn(s, phase);
  } finally {
    if (current === me) current = null;
    if (s) await s.ctx.close().catch(() => {});
    await phase.close();
  }
}

/** Workload 1 (and the first init sample): the standard sequence, then flush and leave the page. */
async function workload1(tool, diag) {
  return inPhase(tool, {}, diag, async (s, phase) => {
    const init = await measureInit(s);
    const r = await s.page.evaluate(() => window.__run.w1());
    if (r.error) throw new Error(`workload failed: ${r.error.split('\n')[0]}`);
    if (r.errors.length) diag.errors.add(`calls threw: ${r.errors.join('; ')}`);
    await s.page.evaluate(() => window.__run.flush());
    // Give batching SDKs their normal chance to send (PostHog every 3 s), as a shopper on the page would.
    await waitDelivered(phase, { expected: tool.expected, quiet: 600, idle: 4000, max: 5000 });
    const extra = {};
    if (tool.id === 'vitrina') {
      extra.profile_bytes = await s.page.evaluate(() => {
        try {
          const v = localStorage.getItem('vitrina:profile');
          return v == null ? null : v.length;
        } catch (e) {
          return null;
        }
      });
    }
    // Leave the page: pagehide and visibilitychange as a real navigation fires them.
    await s.page.goto('about:blank');
    await waitDelivered(phase, { expected: tool.expected, quiet: 1000, idle: 1500, max: 6000 });
    return { init, calls: r.calls, summary: summarize(phase, tool), ...extra };
  });
}

async function initSample(tool, diag) {
  return inPhase(tool, {}, diag, async (s) => measureInit(s));
}

/** Workload 2: 1,000 track() calls, timed in batches; then the main-thread time they cost in all. */
async function workload2(tool, diag) {
  return inPhase(tool, { coi: true }, diag, async (s, phase) => {
    await measureInit(s);
    await waitDelivered(phase, { quiet: 300, max: 2000 });
    const b0 = await busyMs(s.cdp);
    const started = Date.now();
    const r = await s.page.evaluate(({ n, size }) => window.__run.w2(n, size), { n: T.w2Batches, size: T.w2Size });
    if (r.error) throw new Error(`workload failed: ${r.error.split('\n')[0]}`);
    if (r.errors) diag.errors.add(`${r.errors} of ${T.w2Batches * T.w2Size} track() calls threw`);
    const waited = await waitDelivered(phase, { quiet: T.w2Quiet, max: T.w2Max });
    const settled = waited < T.w2Max;
    const busy = (await busyMs(s.cdp)) - b0;
    const lastRequest = Math.max(0, ...phase.requests.filter((x) => x.side === 'collector').map((x) => x.at)) - started;
    return { settled, lastRequest, us: r.us, isolated: r.isolated, busy, delivered: workloadCount(phase), requests: phase.requests.filter((x) => x.side === 'collector' && x.kind !== 'script').length };
  });
}

// ---------------------------------------------------------------- ranking (Vitrina)

/**
 * The Vitrina tool as the ranking page loads it: a for-you slot, the shop's catalogue
 * feed on the page origin, and the collector passing the model (and popularity)
 * requests through to the reference server that serves the model.
 */
function rankingTool(tool, prep) {
  const PASS = ['content-type', 'cache-control', 'etag'];
  return {
    ...tool,
    pageFiles: { ...tool.pageFiles, '/catalog.json': { body: prep.catalog, type: 'application/json' } },
    adapter: rankAdapter,
    async collect(r, body, phase) {
      if (r.method === 'GET' && (r.path.startsWith('/v1/model/') || r.path === '/v1/popularity')) {
        r.kind = r.path === '/v1/popularity' ? 'config' : 'model';
        const inm = r.headers['if-none-match'];
        const res = await fetch(`${prep.serverUrl}${r.path}${r.query}`, { headers: inm ? { 'if-none-match': inm } : {} });
        const buf = Buffer.from(await res.arrayBuffer());
        r.answerBytes = buf.length;
        r.status = res.status;
        const headers = {};
        for (const k of PASS) if (res.headers.get(k)) headers[k] = res.headers.get(k);
        if (res.status !== 304) headers['content-length'] = String(buf.length); // as the server sends it (no chunked framing)
        return { status: res.status, headers, body: buf, type: res.headers.get('content-type') || 'application/octet-stream' };
      }
      return tool.collect(r, body, phase);
    },
  };
}

/**
 * One shopper: a fresh context, the ranking page, `views` product views, then the
 * for-you slot ranked in timed batches (bounded by rankBatches and rankMaxMs). Returns the per-call times and
 * the model bytes the page received (response bodies as transferred).
 */
async function rankShopper(rt, items, diag) {
  return inPhase(rt, { coi: true, html: RANK_HTML }, diag, async (s, phase) => {
    const net = { pending: 0, last: Date.now(), model: [], failed: [] };
    const isModel = (q) => /\/v1\/model\//.test(new URL(q.url()).pathname);
    // What the slot waits for: the catalogue feed and the model (event posts go
    // out with keepalive, whose completion the page does not report).
    const awaited = (q) => q.method() === 'GET' && /^\/(catalog\.json|v1\/)/.test(new URL(q.url()).pathname);
    s.page.on('request', (q) => {
      if (!awaited(q)) return;
      net.pending++;
      net.last = Date.now();
    });
    s.page.on('requestfinished', (q) => {
      if (!awaited(q)) return;
      net.pending--;
      net.last = Date.now();
      if (!isModel(q)) return;
      net.model.push(
        Promise.all([q.sizes(), q.response()]).then(
          ([z, res]) => ({ path: new URL(q.url()).pathname, status: res ? res.status() : 0, body: z.responseBodySize, headers: z.responseHeadersSize }),
          () => null,
        ),
      );
    });
    s.page.on('requestfailed', (q) => {
      if (!awaited(q)) return;
      net.pending--;
      net.last = Date.now();
      if (isModel(q)) net.failed.push(`${new URL(q.url()).pathname}: ${q.failure()?.errorText}`);
    });
    const loaded = await s.page.evaluate(() => window.__rank.load());
    if (loaded && loaded.error) throw new Error(`could not start: ${loaded.error.split('\n')[0]}`);
    const hasApi = await s.page.evaluate(() => typeof window.vitrina.recommend === 'function');
    if (!hasApi) throw new Error('the public API has no recommend()');
    const v = await s.page.evaluate(({ items, gap }) => window.__rank.views(items, gap), { items, gap: T.rankGap });
    if (v.error || v.ok !== items.length) throw new Error(`views: ${v.error ? v.error.split('\n')[0] : `${v.ok} of ${items.length} accepted`}`);
    // The catalogue and the shards the session needs arrive; the slot is full.
    const t = Date.now();
    let full = false;
    for (;;) {
      if (phase.aborted) throw new Error('aborted');
      const quiet = net.pending <= 0 && Date.now() - net.last >= 400;
      if (quiet) full = (await s.page.evaluate((n) => window.__rank.count(n), T.rankLimit)) >= T.rankLimit;
      if ((quiet && full) || Date.now() - t > T.rankSettle) break;
      await sleep(100);
    }
    const r = await s.page.evaluate(({ b, limit, max }) => window.__rank.rank(b, limit, max), { b: T.rankBatches, limit: T.rankLimit, max: T.rankMaxMs });
    if (r.error) throw new Error(`recommend() failed: ${r.error.split('\n')[0]}`);
    const model = (await Promise.all(net.model)).filter(Boolean);
    const viewed = new Set(items.map((p) => p.item));
    const fromModel = r.recs.filter((x) => [...String(x.reason).matchAll(/Item (\d+)/g)].some((m) => viewed.has(m[1]))).length;
    const answered = phase.requests.filter((q) => q.kind === 'model');
    return {
      ms: r.ms,
      size: r.size,
      isolated: r.isolated,
      recs: r.recs.length,
      fromModel,
      full,
      settleMs: Date.now() - t,
      modelBytes: model.reduce((n, x) => n + x.body, 0),
      headBytes: model.filter((x) => x.path === '/v1/model/head').reduce((n, x) => n + x.body, 0),
      shards: model.filter((x) => x.path !== '/v1/model/head' && x.status === 200).length,
      headerBytes: model.reduce((n, x) => n + x.headers, 0),
      requests: model.length,
      statuses: [...new Set(model.map((x) => x.status))],
      failed: net.failed,
      servedBytes: answered.reduce((n, q) => n + (q.answerBytes || 0), 0),
    };
  });
}

/** Vitrina's rank_ms and model_bytes_per_session (bench/lib/ranking.mjs prepares the model and the shoppers). */
async function measureRanking(tool, prep, diag) {
  const rt = rankingTool(tool, prep);
  const runs = [];
  const errors = [];
  for (const items of prep.sessions) {
    if (spent()) {
      errors.push(`${prep.sessions.length - runs.length - errors.length} shoppers skipped: the run's time budget was spent`);
      break;
    }
    try {
      runs.push(await withTimeout(rankShopper(rt, items, diag), T.rankShopper, 'ranking shopper'));
    } catch (e) {
      errors.push(e.message);
    }
  }
  return { runs, errors };
}

// ---------------------------------------------------------------- main

async function benchTool(tool, control, decoderNote, ranking) {
  const diag = { errors: new Set(), external: new Set() };
  const notes = [];
  const res = {
    name: tool.name,
    package: tool.pkg,
    version: tool.version,
    file: tool.measured.map((f) => path.relative(ROOT, f)).join(' + '),
    raw_bytes: null,
    gzip_bytes: null,
    brotli_bytes: null,
    requests: null,
    body_bytes: null,
    bytes_per_event: null,
    us_per_track: null,
    init_ms: null,
    events_expected: tool.expected,
    events_delivered: null,
  };
  try {
    const size = measureFiles(tool.measured);
    Object.assign(res, { raw_bytes: size.raw, gzip_bytes: size.gzip, brotli_bytes: size.brotli });
  } catch (e) {
    notes.push(`size: ${e.message}`);
  }
  if (tool.id === 'vitrina') Object.assign(res, { rank_ms: null, model_bytes_per_session: null, profile_bytes: null });
  if (tool.id === 'vitrina' && decoderNote) notes.push(decoderNote);

  const inits = [];
  const readys = [];
  const parts = [];
  if (!overBudget(notes, `${tool.id}: workload 1`)) log(`${tool.id}: workload 1 (the standard sequence)…`);
  if (!spent()) try {
    const w1 = await withTimeout(workload1(tool, diag), T.phase, 'workload 1');
    const s = w1.summary;
    inits.push(w1.init.busy);
    readys.push(w1.init.readyMs);
    parts.push(w1.init);
    Object.assign(res, {
      requests: s.requests,
      body_bytes: s.body_bytes,
      events_delivered: s.delivered_total,
      bytes_per_event: s.delivered_total ? round(s.body_bytes / s.delivered_total, 1) : null,
      w1: {
        calls: w1.calls,
        delivered: s.delivered,
        duplicates: s.duplicates,
        extra_events: s.extra_events,
        event_requests: s.event_requests,
        preflights: s.preflights,
        config_requests: s.config_requests,
        other_requests: s.other_requests,
        raw_body_bytes: s.raw_body_bytes,
        header_bytes: s.header_bytes,
        query_bytes: s.query_bytes,
        downloaded_script_bytes: s.downloaded_script_bytes,
        requests_seen: s.methods,
        preflight_headers: s.preflight_headers,
      },
    });
    if (s.collector_errors.length) notes.push(`collector could not read: ${s.collector_errors.slice(0, 2).join('; ')}`);
    if (s.delivered_total < tool.expected) {
      notes.push(`delivered ${s.delivered_total} of ${tool.expected} events (${KINDS.map((k) => `${k} ${s.delivered[k]}`).join(', ')})`);
    }
    if (s.duplicates) notes.push(`${s.duplicates} events arrived twice (counted once)`);
    const ex = Object.entries(s.extra_events);
    if (ex.length) notes.push(`also sent: ${ex.map(([k, n]) => `${n}× ${k}`).join(', ')}`);
    if (res.raw_bytes != null && s.downloaded_script_bytes > res.raw_bytes) {
      notes.push(`downloaded ${s.downloaded_script_bytes} B of scripts in all (${s.downloaded_script_bytes - res.raw_bytes} B loaded lazily beyond the measured file)`);
    }
    if (s.raw_body_bytes !== s.body_bytes) notes.push(`bodies compressed: ${s.raw_body_bytes} B uncompressed (${round(s.raw_body_bytes / Math.max(1, s.delivered_total), 0)} B/event)`);
    if (s.query_bytes > s.requests * 2) notes.push(`+${s.query_bytes} B in URL query strings (${round(s.query_bytes / Math.max(1, s.delivered_total), 0)} B/event)`);
    if (tool.id === 'vitrina') res.profile_bytes = w1.profile_bytes ?? null;
    log(
      `${tool.id}: workload 1: ${s.delivered_total}/${tool.expected} events in ${s.requests} request${s.requests === 1 ? '' : 's'} ` +
        `(${s.event_requests} with events, ${s.preflights} preflights, ${s.config_requests} config), ${s.body_bytes} body bytes`,
    );
  } catch (e) {
    notes.push(`workload 1 failed: ${e.message}`);
    warn(`${tool.id}: workload 1 failed: ${e.message}`);
  }

  for (let i = inits.length; i < T.initReps && inits.length > 0 && !spent(); i++) {
    try {
      const r = await withTimeout(initSample(tool, diag), 15000, 'init sample');
      inits.push(r.busy);
      readys.push(r.readyMs);
      parts.push(r);
    } catch (e) {
      notes.push(`init sample failed: ${e.message}`);
      break;
    }
  }
  if (inits.length) {
    res.init_ms = round(Math.max(0, median(inits) - control.init), 1);
    res.init_samples_ms = inits.map((x) => round(x - control.init, 1));
    res.ready_ms = round(median(readys), 1);
    // Of the main-thread time: running JavaScript (wasm included) and compiling it.
    res.init_script_ms = round(median(parts.map((p) => p.script)), 1);
    res.init_compile_ms = round(median(parts.map((p) => p.compile)), 1);
  }

  if (!overBudget(notes, `${tool.id}: workload 2`)) log(`${tool.id}: workload 2 (${T.w2Batches * T.w2Size} track() calls)…`);
  if (!spent()) try {
    const w2 = await withTimeout(workload2(tool, diag), T.phase, 'workload 2');
    res.us_per_track = round(median(w2.us), 1);
    res.us_per_track_all = round(Math.max(0, (w2.busy - control.w2) * 1000) / (T.w2Batches * T.w2Size), 1);
    res.w2 = {
      batch_us: w2.us.map((x) => round(x, 1)),
      p10_us: round(quantile(w2.us, 0.1), 1),
      cross_origin_isolated: w2.isolated,
      delivered: w2.delivered,
      requests: w2.requests,
      last_request_ms: w2.lastRequest,
      settled: w2.settled,
      main_thread_ms: round(w2.busy - control.w2, 0),
    };
    if (!w2.isolated) notes.push('workload 2 page was not cross-origin isolated (coarse timer)');
    if (w2.delivered < T.w2Batches * T.w2Size || !w2.settled) {
      notes.push(
        `workload 2: ${w2.delivered} of ${T.w2Batches * T.w2Size} events delivered` +
          (w2.settled ? '' : `; still sending after ${T.w2Max / 1000} s (µs all-in is a lower bound)`),
      );
    }
    log(
      `${tool.id}: workload 2: ${res.us_per_track} µs per call (median of ${T.w2Batches} batches), ` +
        `${res.us_per_track_all} µs of main thread per call in all; ${w2.delivered} of 1000 delivered`,
    );
  } catch (e) {
    notes.push(`workload 2 failed: ${e.message}`);
    warn(`${tool.id}: workload 2 failed: ${e.message}`);
  }

  if (tool.id === 'vitrina') await rankingFigures(tool, ranking, res, notes, diag);

  if (diag.external.size) notes.push(`tried to reach other hosts (blocked): ${[...diag.external].slice(0, 5).join(', ')}`);
  if (diag.errors.size) notes.push(...[...diag.errors].slice(0, 4));
  res.notes = notes;
  return res;
}

/** Fills res.rank_ms, res.model_bytes_per_session and res.rank (details), or says why not (res.rank_note). */
async function rankingFigures(tool, ranking, res, notes, diag) {
  const na = (why) => {
    res.rank_note = why;
    notes.push(`rank_ms, model_bytes_per_session: n/a (${why})`);
    warn(`vitrina: ranking: n/a (${why})`);
  };
  if (!ranking || ranking.error) return na(ranking ? ranking.error : 'not prepared');
  if (overBudget(notes, 'vitrina: ranking')) return (res.rank_note = 'skipped: the time budget was spent');
  log(`vitrina: ranking (${ranking.sessions.length} held-out Diginetica shoppers × ${T.rankViews} views, then the for-you slot ranked in up to ${T.rankBatches} timed batches each)…`);
  const { runs, errors } = await measureRanking(tool, ranking, diag);
  if (!runs.length) return na(`every shopper failed: ${errors[0] || 'unknown'}`);
  const ms = runs.flatMap((r) => r.ms);
  const b = ranking.build || {};
  res.rank_ms = round(median(ms), 4);
  res.model_bytes_per_session = round(median(runs.map((r) => r.modelBytes)), 0);
  res.rank = {
    slot: 'for-you',
    limit: T.rankLimit,
    catalog_items: ranking.catalogItems,
    shoppers: runs.length,
    views_per_shopper: T.rankViews,
    calls_per_batch: [...new Set(runs.map((r) => r.size))],
    batches: ms.length,
    p10_ms: round(quantile(ms, 0.1), 4),
    p90_ms: round(quantile(ms, 0.9), 4),
    cross_origin_isolated: runs.every((r) => r.isolated),
    model: {
      source: `diginetica train_sessions.txt, first ${ranking.trainSessions} sessions (SKU-hashed ids)`,
      version: b.version ?? null,
      items: b.items ?? null,
      entries: b.entries ?? null,
      bytes: b.bytes ?? null,
      shards: b.shards ?? null,
      head_bytes: b.head_bytes ?? null,
      shard_median_bytes: b.shard_median ?? null,
    },
    per_shopper: runs.map((r) => ({
      rank_ms: round(median(r.ms), 4),
      batches: r.ms.length,
      calls_per_batch: r.size,
      model_bytes: r.modelBytes,
      head_bytes: r.headBytes,
      shards: r.shards,
      model_requests: r.requests,
      model_header_bytes: r.headerBytes,
      served_bytes: r.servedBytes,
      recs: r.recs,
      recs_from_model: r.fromModel,
      settle_ms: r.settleMs,
    })),
    errors,
  };
  notes.push(
    `rank_ms: for-you slot (${T.rankLimit} items) over a ${fmtN(ranking.catalogItems)}-item catalogue feed, median of ${ms.length} batches of ` +
      `${[...new Set(runs.map((r) => r.size))].join('/')} recommend() call(s) (p90 ${fmtN(res.rank.p90_ms, 3)} ms) by ${runs.length} held-out Diginetica shoppers after ${T.rankViews} views each; ` +
      `model_bytes_per_session: head + shards received, median of ${runs.length} (${runs.map((r) => `${fmtN(r.modelBytes)} B/${r.shards} shards`).join(', ')}); ` +
      `model: ${fmtN(b.items)} items, ${fmtN(b.bytes)} B in ${fmtN(b.shards)} shards, built by vitrina-server model build`,
  );
  if (errors.length) notes.push(`ranking: ${errors.length} shopper${errors.length === 1 ? '' : 's'} failed: ${errors.slice(0, 2).join('; ')}`);
  const weak = runs.filter((r) => !r.fromModel);
  if (weak.length) notes.push(`ranking: ${weak.length} of ${runs.length} shoppers got no recommendation from the model (reasons name no viewed item)`);
  const unfull = runs.filter((r) => !r.full);
  if (unfull.length) notes.push(`ranking: ${unfull.length} shoppers' slot was not full (${T.rankLimit}) after ${T.rankSettle / 1000} s`);
  const failed = runs.flatMap((r) => r.failed);
  if (failed.length) notes.push(`ranking: model requests failed: ${failed.slice(0, 2).join('; ')}`);
  const mismatch = runs.filter((r) => r.servedBytes !== r.modelBytes);
  if (mismatch.length) notes.push(`ranking: browser-side and collector-side model bytes differ (${mismatch.map((r) => `${r.modelBytes} vs ${r.servedBytes}`).join(', ')})`);
  log(
    `vitrina: ranking: ${res.rank_ms} ms per for-you slot (median of ${ms.length} batches), ` +
      `${res.model_bytes_per_session} model bytes per session (median of ${runs.length} shoppers)`,
  );
}

/** The model and the shoppers for Vitrina's ranking phase; { error } says why it is not measured. */
async function setupRanking() {
  const shown = DIGINETICA.startsWith(path.dirname(ROOT) + path.sep) ? path.relative(ROOT, DIGINETICA) : DIGINETICA;
  if (!fs.existsSync(DIGINETICA)) return { error: `no research data: ${shown} is missing` };
  if (!fs.existsSync(SERVER_BIN)) {
    log('vitrina-server: target/release/vitrina-server is missing, building it (cargo build --release -p vitrina-server)…');
    const code = await runCmd('cargo', ['build', '--release', '-p', 'vitrina-server'], ROOT).catch(() => -1);
    if (code !== 0 || !fs.existsSync(SERVER_BIN)) return { error: 'target/release/vitrina-server is missing and cargo build --release -p vitrina-server failed' };
  }
  const t = Date.now();
  try {
    const prep = await prepareRanking({
      bin: SERVER_BIN,
      dataFile: DIGINETICA,
      shoppers: T.rankShoppers,
      views: T.rankViews,
      catalogSize: T.rankCatalog,
    });
    const b = prep.build;
    log(
      `vitrina: model built by vitrina-server model build from ${fmtN(prep.trainSessions)} Diginetica sessions: ${fmtN(b.items)} items, ` +
        `${fmtN(b.bytes)} B in ${fmtN(b.shards)} shards, served by vitrina-server at ${prep.serverUrl} (${secs(Date.now() - t)})`,
    );
    return prep;
  } catch (e) {
    return { error: e.message };
  }
}

async function measureControl() {
  const diag = { errors: new Set(), external: new Set() };
  const { control } = TOOLS;
  const inits = [];
  for (let i = 0; i < T.initReps; i++) inits.push((await withTimeout(initSample(control, diag), 15000, 'control init')).busy);
  const w2 = await withTimeout(workload2(control, diag), T.phase, 'control workload 2');
  return { init: median(inits), w2: w2.busy };
}

// ---------------------------------------------------------------- output

const fmtN = (x, d = 0) =>
  x == null ? '—' : Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const ratio = (x, ref) => {
  if (x == null || ref == null || ref === 0) return '';
  const r = x / ref;
  return ` (${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×)`;
};

function printTable(results) {
  const ref = results.vitrina;
  const cols = [
    ['raw B', 'raw_bytes', 0],
    ['gzip B', 'gzip_bytes', 0],
    ['brotli B', 'brotli_bytes', 0],
    ['requests', 'requests', 0],
    ['body B', 'body_bytes', 0],
    ['B/event', 'bytes_per_event', 0],
    ['init ms', 'init_ms', 1],
    ['µs/track', 'us_per_track', 1],
    ['µs all-in', 'us_per_track_all', 0],
  ];
  const rows = [['tool', ...cols.map((c) => c[0]), 'events']];
  for (const [id, r] of Object.entries(results)) {
    rows.push([
      `${id}${r.version ? ` ${r.version}` : ''}`,
      ...cols.map(([, k, d]) => fmtN(r[k], d) + (id === 'vitrina' ? '' : ratio(r[k], ref[k]))),
      r.events_delivered == null ? '—' : `${r.events_delivered}/${r.events_expected}`,
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log('');
  console.log(line(rows[0]));
  console.log(w.map((n) => '─'.repeat(n)).join('  '));
  rows.slice(1).forEach((r, i) => {
    console.log(line(r));
    if (i === 0) {
      const na = ref.rank_ms == null || ref.model_bytes_per_session == null;
      console.log(
        `${' '.repeat(w[0] + 2)}└ rank one slot (wasm): ${ref.rank_ms == null ? 'n/a' : `${fmtN(ref.rank_ms, 3)} ms`}` +
          ` · model bytes per session: ${ref.model_bytes_per_session == null ? 'n/a' : fmtN(ref.model_bytes_per_session)}` +
          ` · profile bytes: ${fmtN(ref.profile_bytes)}` +
          (na ? ` (n/a: ${ref.rank_note || 'not measured'})` : ''),
      );
    }
  });
  console.log('');
  console.log(
    `ratios are to Vitrina's figure. B/event = request body bytes / events delivered (workload 1). init ms = main-thread\n` +
      `time from script insertion until ready + ${T.settle / 1000} s (median of ${T.initReps} fresh pages). µs/track = median of ${T.w2Batches} batch\n` +
      `averages of ${T.w2Size} synchronous calls; µs all-in = main-thread time of the ${T.w2Batches * T.w2Size} calls and all the work they caused until the\n` +
      `tool stopped sending (timers, storage, requests), per call. init ms and µs all-in are net of a page without any tracker.`,
  );
  for (const [id, r] of Object.entries(results)) {
    for (const n of r.notes || []) console.log(`  ${id}: ${n}`);
  }
}

function summaryLine(results, elapsed) {
  const ids = Object.keys(results);
  const ok = ids.filter((id) => results[id].events_delivered != null && results[id].events_delivered >= results[id].events_expected);
  const v = results.vitrina;
  const others = ids.filter((id) => id !== 'vitrina');
  const range = (k) => {
    const xs = others.map((id) => results[id][k]).filter((x) => x != null);
    return xs.length ? `${fmtN(Math.min(...xs), k === 'us_per_track' ? 1 : 0)}–${fmtN(Math.max(...xs), k === 'us_per_track' ? 1 : 0)}` : '—';
  };
  return (
    `[bench] ${ok.length}/${ids.length} tools delivered the whole workload in ${secs(elapsed)}; ` +
    `Vitrina: ${fmtN(v.gzip_bytes)} B gzip (others ${range('gzip_bytes')}), ` +
    `${fmtN(v.bytes_per_event)} B/event (others ${range('bytes_per_event')}), ` +
    `${fmtN(v.us_per_track, 1)} µs/track (others ${range('us_per_track')}), ` +
    `requests ${fmtN(v.requests)} (others ${range('requests')})` +
    (ok.length < ids.length ? `; incomplete: ${ids.filter((id) => !ok.includes(id)).join(', ')}` : '')
  );
}

let TOOLS;

/** Timings mean little on a machine busy with other work: say so. */
function loadCheck(when) {
  const load = os.loadavg()[0];
  const cores = os.cpus().length;
  if (load > cores * 0.75) {
    warn(`the machine is busy ${when} (load average ${load.toFixed(1)} on ${cores} cores): init ms and µs figures are inflated and noisy; byte and request counts are not affected`);
  }
  return round(load, 2);
}

async function main() {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  await ensureRootTools();
  await ensureDeps();
  await ensureVitrinaBuild();
  await buildBundles();
  const ranking = await setupRanking();
  if (ranking.error) warn(`vitrina: ranking will be n/a: ${ranking.error}`);
  // Interrupted: stop the model server and remove its temporary directory.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      if (browser) browser.close().catch(() => {});
      Promise.resolve(ranking.stop && ranking.stop()).finally(() => process.exit(130));
    });
  }

  let decodeVitrina = () => {
    throw new Error('no decoder');
  };
  let decoderNote = '';
  try {
    decodeVitrina = (await import(pathToFileURL(path.join(ROOT, 'www', 'npm', 'decode.js')).href)).decode;
  } catch (e) {
    decoderNote = `could not load www/npm/decode.js to count delivered events: ${e.message}`;
  }
  TOOLS = defineTools({ ROOT, NM, cache: CACHE, decodeVitrina });
  const tools = TOOLS.tools.filter((t) => !only.length || t.id === 'vitrina' || only.includes(t.id));

  const loadBefore = loadCheck('before the run');
  await launch();
  benchStart = Date.now();
  const results = {};
  try {
    log('control: a page without any tracker (baseline main-thread time)…');
    let control;
    try {
      control = await measureControl();
    } catch (e) {
      warn(`control failed (${e.message}): init ms and µs all-in are not net of a baseline`);
      control = { init: 0, w2: 0 };
    }
    log(`control: ${control.init.toFixed(1)} ms during init, ${control.w2.toFixed(1)} ms during workload 2 (subtracted from every tool)`);
    for (const tool of tools) results[tool.id] = await benchTool(tool, control, decoderNote, ranking);
  } finally {
    await browser.close().catch(() => {});
    if (ranking.stop) await ranking.stop();
  }

  const loadAfter = loadCheck('during the run');
  for (const r of Object.values(results)) r.load_average = [loadBefore, loadAfter];
  fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  printTable(results);
  console.log('');
  log(`results written to ${path.relative(process.cwd(), RESULTS) || RESULTS}`);
  console.log(summaryLine(results, Date.now() - t0));
}

main().catch((e) => {
  console.error(`[bench] error: ${e && (e.stack || e.message)}`);
  process.exitCode = 1;
  if (browser) browser.close().catch(() => {});
});
