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

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const NM = path.join(BENCH, 'node_modules');
const CACHE = path.join(NM, '.cache', 'vitrina-bench');
const RESULTS = path.join(BENCH, 'results.json');
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

function newPhase(tool, { coi = false } = {}) {
  return startPhase({
    coi,
    html: () => PAGE_HTML(tool.name),
    pageFile: (p, phase) => {
      if (p === '/bench.js') return { body: benchScript(tool, phase.collectorOrigin), type: 'text/javascript; charset=utf-8' };
      const f = tool.pageFiles[p];
      return f ? { body: readFile(f.path), type: f.type } : null;
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
      extra.rank = await s.page.evaluate(() => {
        // Times one slot's ranking, once the public API has one (10 batches of 20 calls).
        const v = window.vitrina;
        const f = v && (typeof v.rank === 'function' ? v.rank : typeof v.recommend === 'function' ? v.recommend : null);
        if (!f) return null;
        const ms = [];
        for (let b = 0; b < 10; b++) {
          const t = performance.now();
          for (let i = 0; i < 20; i++) f.call(v, 'recommended', { limit: 6 });
          ms.push((performance.now() - t) / 20);
        }
        ms.sort((a, b) => a - b);
        return (ms[4] + ms[5]) / 2;
      });
    }
    // Leave the page: pagehide and visibilitychange as a real navigation fires them.
    await s.page.goto('about:blank');
    await waitDelivered(phase, { expected: tool.expected, quiet: 1000, idle: 1500, max: 6000 });
    return { init, calls: r.calls, summary: summarize(phase, tool), ...extra };
  });
}

/** Ranking exports of the Core (the wasm's export names that mention "rank"). */
function rankExports() {
  try {
    const mod = new WebAssembly.Module(fs.readFileSync(path.join(ROOT, 'www', 'dist', 'vitrina_core_bg.wasm')));
    return WebAssembly.Module.exports(mod).map((e) => e.name).filter((n) => /rank|recommend/i.test(n));
  } catch {
    return [];
  }
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

// ---------------------------------------------------------------- main

async function benchTool(tool, control, decoderNote) {
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
    if (tool.id === 'vitrina') {
      res.profile_bytes = w1.profile_bytes ?? null;
      const exportsRank = rankExports();
      if (w1.rank != null) {
        res.rank_ms = round(w1.rank, 4);
        notes.push('model_bytes_per_session: n/a (the bench serves no model yet)');
      } else if (!exportsRank.length) {
        notes.push('rank_ms, model_bytes_per_session: n/a (ranking not built: the Core has no ranking export)');
      } else {
        res.rank_note = `the wasm exports ${exportsRank.join(', ')} but the public API has no rank()/recommend() to time: update bench/run.mjs`;
        notes.push(`rank_ms, model_bytes_per_session: n/a (${res.rank_note})`);
      }
    }
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

  if (diag.external.size) notes.push(`tried to reach other hosts (blocked): ${[...diag.external].slice(0, 5).join(', ')}`);
  if (diag.errors.size) notes.push(...[...diag.errors].slice(0, 4));
  res.notes = notes;
  return res;
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
      const na = ref.rank_note ? 'n/a (ranking not reachable from the API)' : 'n/a (ranking not built)';
      console.log(
        `${' '.repeat(w[0] + 2)}└ rank one slot (wasm): ${ref.rank_ms == null ? na : `${fmtN(ref.rank_ms, 3)} ms`}` +
          ` · model bytes per session: ${ref.model_bytes_per_session == null ? (ref.rank_ms == null ? na : 'n/a') : fmtN(ref.model_bytes_per_session)}` +
          ` · profile bytes: ${fmtN(ref.profile_bytes)}`,
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
    for (const tool of tools) results[tool.id] = await benchTool(tool, control, decoderNote);
  } finally {
    await browser.close().catch(() => {});
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
