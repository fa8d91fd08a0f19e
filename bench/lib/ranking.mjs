// Vitrina's ranking phase: a real item-to-item model, the widget that fetches it,
// and the time to rank one slot.
//
// The model is built by the reference server's own `vitrina-server model build`
// from the Diginetica research log (../shared/data/diginetica/train_sessions.txt,
// read in place and never copied into the repository): every session but the last
// HOLD_OUT lines, with each numeric item id turned into the model id the browser
// computes for the SKU string "<id>" (32-bit FNV-1a, as a shop's SKUs are), so the
// widget's SKU "123" finds item 123's list. The same binary then serves it
// (`vitrina-server serve`, /v1/model/head and /v1/model/<v>/shard/<i>), and the
// bench's collector passes those requests through to it, so the widget fetches the
// model from the backend its endpoint names, as in production. The shoppers are
// sessions of the held-out part (never in the model).
//
// Everything temporary (the hashed sessions file, the model versions, the server's
// data directory) lives in one directory under os.tmpdir(), removed at the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Lines at the end of the log kept out of the model: the shoppers come from there (the data README's protocol). */
const HOLD_OUT = 15000;

/** The model id of a SKU (src/recommend.rs sku_id): 32-bit FNV-1a of its UTF-8 bytes. */
export function skuId(sku) {
  let h = 0x811c9dc5;
  for (let i = 0; i < sku.length; i++) {
    h ^= sku.charCodeAt(i); // ASCII digits only here
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// Diginetica's preprocessed log has ids only: the catalogue's names, categories and
// prices are made up, deterministically from the id (what matters here is that a
// shop's feed has them: they are what the content part of the ranking reads).
const catalogItem = (id) => {
  const h = skuId(`c${id}`);
  return {
    item: String(id),
    name: `Item ${id}`,
    url: `/p/${id}`,
    category: `dept-${h % 12}/cat-${h % 120}`,
    price: Math.round(5 + ((h >>> 8) % 19500) / 100) + 0.9,
    in_stock: true,
  };
};

function runCapture(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    } catch (e) {
      return resolve({ code: -1, out: e.message });
    }
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ code: -1, out: out + e.message }));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Starts `vitrina-server serve` on a free port; resolves when it prints its listening line. */
function startServer(bin, dataDir, timeoutMs = 15000) {
  const argv = ['serve', '--addr', '127.0.0.1:0', '--data', dataDir, '--model-every', '0', '--rate-limit', '0'];
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  // Never leave it running, whatever happens to the bench.
  const onExit = () => child.exitCode === null && child.kill('SIGKILL');
  process.once('exit', onExit);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`vitrina-server serve did not print its listening line within ${timeoutMs / 1000} s: ${out.trim().slice(-300)}`));
    }, timeoutMs);
    const onData = (d) => {
      out += d;
      const m = /vitrina-server listening on (http:\/\/[^\s/]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1].replace(/\/$/, ''), stop: () => stop().then(() => process.removeListener('exit', onExit)) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${e.message}`));
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`vitrina-server serve exited (${code ?? sig}) before listening: ${out.trim().slice(-300)}`));
    });
  });
}

/**
 * Builds the model, starts the server that serves it, and picks the shoppers.
 * Resolves { serverUrl, build, sessions, catalog, catalogItems, stop } or throws an
 * Error whose message says why ranking cannot be measured (printed as n/a).
 * @param {object} o
 * @param {string} o.bin          target/release/vitrina-server
 * @param {string} o.dataFile     ../shared/data/diginetica/train_sessions.txt
 * @param {number} o.shoppers     how many held-out sessions to replay
 * @param {number} o.views        product views per shopper
 * @param {number} o.catalogSize  items in the shop's catalogue feed (the widget keeps at most 20,000)
 */
export async function prepareRanking({ bin, dataFile, shoppers, views, catalogSize }) {
  if (!fs.existsSync(dataFile)) throw new Error(`no research data at ${dataFile}`);
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing`);
  const lines = fs.readFileSync(dataFile, 'utf8').split('\n').filter((l) => l.trim());
  if (lines.length < HOLD_OUT * 2) throw new Error(`${dataFile} has only ${lines.length} sessions`);
  const trainLines = lines.slice(0, lines.length - HOLD_OUT);
  const held = lines.slice(lines.length - HOLD_OUT).map((l) => l.trim().split(/\s+/));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-bench-model-'));
  let server = null;
  const stop = async () => {
    if (server) await server.stop().catch(() => {});
    server = null;
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    // Training sessions with SKU-hashed ids, and item counts for the catalogue.
    const counts = new Map();
    const hashed = trainLines.map((l) =>
      l
        .trim()
        .split(/\s+/)
        .map((id) => {
          counts.set(id, (counts.get(id) || 0) + 1);
          return skuId(id);
        })
        .join(' '),
    );
    const sessionsFile = path.join(tmp, 'train-sku-ids.txt');
    fs.writeFileSync(sessionsFile, hashed.join('\n') + '\n');
    const dataDir = path.join(tmp, 'data');
    fs.mkdirSync(dataDir);
    const b = await runCapture(bin, ['model', 'build', '--data', dataDir, '--sessions', sessionsFile, '--json']);
    if (b.code !== 0) throw new Error(`vitrina-server model build failed (exit ${b.code}): ${b.out.trim().slice(-300)}`);
    fs.rmSync(sessionsFile, { force: true });
    let build = null;
    try {
      build = JSON.parse(b.out.trim().split('\n').filter((l) => l.startsWith('{')).pop());
    } catch {
      throw new Error(`vitrina-server model build printed no JSON summary: ${b.out.trim().slice(-200)}`);
    }

    // Shoppers: held-out sessions with at least `views` clicks, spread over the
    // held-out week, each cut to its first `views` clicks (repeats are real re-views).
    const long = held.filter((s) => s.length >= views);
    if (long.length < shoppers) throw new Error(`only ${long.length} held-out sessions have ${views} views`);
    const sessions = Array.from({ length: shoppers }, (_, k) => long[Math.floor(((k + 0.5) * long.length) / shoppers)].slice(0, views));

    // The shop's catalogue feed: the most viewed items, and every item the shoppers view.
    const ids = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).map((e) => e[0]);
    const chosen = new Set(sessions.flat());
    for (const id of ids) {
      if (chosen.size >= catalogSize) break;
      chosen.add(id);
    }
    const items = [...chosen].map(catalogItem);
    const byId = Object.fromEntries(items.map((p) => [p.item, p]));

    server = await startServer(bin, dataDir);
    return {
      serverUrl: server.url,
      build,
      sessions: sessions.map((s) => s.map((id) => byId[id])),
      catalog: Buffer.from(JSON.stringify(items)),
      catalogItems: items.length,
      trainSessions: trainLines.length,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The ranking page: a product page with a for-you slot, as a shop draws one. */
export const RANK_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Vitrina ranking · Trail Runner 2</title>
<script src="/bench.js"></script>
</head>
<body>
<main>
<h1>Trail Runner 2</h1>
<p>A benchmark page: one product, a for-you slot, the widget.</p>
<section><h2>For you</h2><div data-vitrina-slot="for-you"></div></section>
</main>
</body>
</html>
`;

/**
 * In-page part (after page.mjs's COMMON, so __h and inTask are in scope):
 * window.__rank = { load, views(items, gapMs), count(limit), rank(batches, limit, maxMs) }.
 * `C` is the collector origin: the widget's endpoint, and so its model head.
 */
export const rankAdapter = (C) => `
  window.__rank = {
    load: function () {
      return inTask(function () {
        window.vitrina = window.vitrina || function () { (vitrina.q = vitrina.q || []).push(arguments); };
        __h.inject('/vitrina.js', { 'data-site': 'bench-shop', 'data-endpoint': ${JSON.stringify(C + '/v1/collect')}, 'data-auto-capture': 'false', 'data-catalog': '/catalog.json', 'data-lang': 'en' });
        return __h.until(function () { return window.vitrina && window.vitrina.ready === true; }, 'vitrina.ready');
      });
    },
    // A shopper's product views, a moment apart (each lets the widget ask for the shards it needs).
    views: function (items, gap) {
      return inTask(function () {
        var i = 0, ok = 0;
        return new Promise(function (resolve) {
          (function next() {
            if (i >= items.length) return resolve({ ok: ok });
            var p = items[i++];
            if (window.vitrina.view({ item: p.item, name: p.name, category: p.category, price: p.price, currency: 'EUR', url: p.url })) ok++;
            setTimeout(next, gap);
          })();
        });
      });
    },
    count: function (limit) {
      return window.vitrina.recommend('for-you', { limit: limit }).length;
    },
    // Times recommend() as tests/e2e/ranking.test.mjs does: batches of calls, ms per
    // call per batch. A batch lasts at least ~2 ms (up to 20 calls: the timer's
    // resolution is 5 µs here, cross-origin isolated); at most \`batches\` batches and
    // about \`maxMs\` ms in all (at least 5 batches), so a slow ranking stays affordable.
    rank: function (batches, limit, maxMs) {
      return inTask(function () {
        var v = window.vitrina, ms = [];
        var first = v.recommend('for-you', { limit: limit });
        var t0 = performance.now();
        v.recommend('for-you', { limit: limit });
        var one = performance.now() - t0;
        var size = Math.max(1, Math.min(20, Math.ceil(2 / Math.max(one, 0.005))));
        var start = performance.now();
        while (ms.length < batches && (ms.length < 5 || performance.now() - start < maxMs)) {
          var t = performance.now();
          for (var i = 0; i < size; i++) v.recommend('for-you', { limit: limit });
          ms.push((performance.now() - t) / size);
        }
        return { ms: ms, size: size, recs: first.map(function (r) { return { item: r.item, reason: r.reason }; }), isolated: !!window.crossOriginIsolated };
      });
    }
  };
  window.__bench = { load: window.__rank.load };`;
