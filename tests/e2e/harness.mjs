// Shared helpers for the browser end-to-end tests (node --test). Builds nothing:
// `npm test` builds the widget (www/dist) and target/release/vitrina-server first.
// Run one file by hand:  npm run build && cargo build --release -p vitrina-server && node --test tests/e2e/x.test.mjs
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVER_BIN = path.join(ROOT, 'target', 'release', 'vitrina-server');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** Flags for Debian's chromium on this machine (no network but loopback, root, no GPU). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A free TCP port on 127.0.0.1 (for servers that cannot report the port they bound). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, deadline) {
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Start the release server on 127.0.0.1 with a fresh data dir.
 * Waits for its line `vitrina-server listening on http://127.0.0.1:PORT`.
 * @param {{port?: number, args?: string[], env?: object, dataDir?: string, widget?: string, demo?: string, timeoutMs?: number}} [opts]
 * @returns {Promise<{url: string, port: number, dataDir: string, output: () => string, stop: () => Promise<void>}>}
 *   url has no trailing slash, e.g. http://127.0.0.1:43121
 */
export async function startServer(opts = {}) {
  const {
    port = 0, args = [], env = {}, widget = path.join(ROOT, 'www', 'dist'), demo = path.join(ROOT, 'www', 'demo'),
    timeoutMs = 15000,
  } = opts;
  if (!fs.existsSync(SERVER_BIN)) {
    throw new Error(`${SERVER_BIN} is missing: run \`cargo build --release -p vitrina-server\` (npm test does it).`);
  }
  const ownData = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-e2e-data-'));
  const argv = ['serve', '--addr', `127.0.0.1:${port}`, '--data', dataDir, '--widget', widget, '--demo', demo, ...args];
  const child = spawn(SERVER_BIN, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  const deadline = Date.now() + timeoutMs;

  const url = await new Promise((resolve, reject) => {
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      err ? reject(err) : resolve(value);
    };
    const onData = (d) => {
      out += d;
      const m = /vitrina-server listening on (http:\/\/[^\s/]+)/.exec(out);
      if (m) finish(null, m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => finish(new Error(`cannot start ${SERVER_BIN}: ${e.message}`)));
    child.once('exit', (code, sig) => finish(new Error(
      `vitrina-server exited (${code ?? sig}) before listening.\n$ vitrina-server ${argv.join(' ')}\n${out}`)));
    const timer = setTimeout(async () => {
      // No listening line: with an explicit port, accept a server that answers anyway.
      if (port && (await waitForPort(port, Date.now() + 100))) return finish(null, `http://127.0.0.1:${port}`);
      finish(new Error(`vitrina-server did not print "vitrina-server listening on http://…" within ${timeoutMs} ms.\n` +
        `$ vitrina-server ${argv.join(' ')}\n${out}`));
    }, Math.max(0, deadline - Date.now()));
  }).catch((e) => {
    child.kill('SIGKILL');
    if (ownData) fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  });

  let stopped = null;
  const stop = () => {
    stopped ??= new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => { clearTimeout(kill); resolve(); });
      child.kill('SIGTERM');
    }).then(() => {
      if (ownData) fs.rmSync(dataDir, { recursive: true, force: true });
    });
    return stopped;
  };
  return { url: url.replace(/\/$/, ''), port: Number(new URL(url).port), dataDir, process: child, output: () => out, stop };
}

/** Launch headless Debian chromium via playwright-core (fresh temporary profile). */
export async function launchBrowser(opts = {}) {
  const { chromium } = await import('playwright-core');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run setup\`.`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ...opts });
}

/**
 * A page in its own fresh context (own cookies/localStorage), collecting console messages and errors.
 *   page.consoleMessages: [{ type, text }]
 *   page.pageErrors:      [Error]  (uncaught exceptions / unhandled rejections in the page)
 *   page.badResponses:    [{ url, status }]  (HTTP >= 400, favicon.ico excepted)
 * onConsole(msg) is called for each console message (playwright ConsoleMessage).
 */
export async function newPage(browser, { onConsole, contextOptions = {} } = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.consoleMessages = [];
  page.pageErrors = [];
  page.on('console', (msg) => {
    page.consoleMessages.push({ type: msg.type(), text: msg.text() });
    onConsole?.(msg);
  });
  page.badResponses = [];
  page.on('pageerror', (err) => page.pageErrors.push(err));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) page.badResponses.push({ url: r.url(), status: r.status() });
  });
  page.once('close', () => context.close().catch(() => {}));
  return page;
}

/**
 * Throws listing the page's uncaught errors, plus console errors and HTTP >= 400 responses unless
 * allowed (the browser's own "Failed to load resource" console line for a favicon is ignored).
 */
export function assertNoPageErrors(page, { allowConsoleErrors = false, allowBadResponses = false } = {}) {
  const problems = page.pageErrors.map((e) => `pageerror: ${e.message}`);
  if (!allowBadResponses) problems.push(...page.badResponses.map((r) => `HTTP ${r.status}: ${r.url}`));
  if (!allowConsoleErrors) {
    const ignorable = (m) => /^Failed to load resource/.test(m.text) &&
      (allowBadResponses || page.badResponses.length === 0);
    problems.push(...page.consoleMessages.filter((m) => m.type === 'error' && !ignorable(m)).map((m) => `console.error: ${m.text}`));
  }
  if (problems.length) throw new Error(`errors in the page:\n  ${problems.join('\n  ')}`);
}

/** Save a full-page PNG to test-artifacts/<name>.png; returns its path. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.map': 'application/json',
};

/**
 * Tiny static file server on 127.0.0.1 (correct application/wasm MIME type).
 * `routes` maps a path (e.g. '/collect') to a handler (req, res, body) for stand-in endpoints;
 * requests are recorded in `requests` ({ method, url, body }).
 * @returns {Promise<{url: string, requests: object[], close: () => Promise<void>}>}
 */
export async function serveStatic(dir, { routes = {} } = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const { pathname } = new URL(req.url, 'http://x');
    requests.push({ method: req.method, url: req.url, body });
    if (routes[pathname]) return routes[pathname](req, res, body);
    if (pathname === '/favicon.ico') { res.writeHead(204).end(); return; }
    let file = path.join(dir, decodeURIComponent(pathname));
    if (!file.startsWith(path.resolve(dir))) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'); return; }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers for the widget suites (shop.test.mjs, script-tag.test.mjs).

export const DIST = path.join(ROOT, 'www', 'dist');
/** The files the script-tag build serves: loader, module, the wasm and its full build (JSON, LDP), the developer messages. */
export const WIDGET_FILES = ['vitrina.js', 'vitrina-core.js', 'vitrina_core_bg.wasm', 'vitrina_core_full_bg.wasm', 'messages.js'];

/**
 * Polls `fn` (sync or async) every `interval` ms until it returns a truthy value, which is returned.
 * Throws after `timeout` ms with `message` and the last value (or error) seen.
 */
export async function waitFor(fn, { timeout = 10000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${message} (last: ${seen?.slice(0, 2000)})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** GET an admin endpoint of the reference server (Authorization: Bearer token) and parse its JSON. */
export async function adminGet(server, pathAndQuery, token) {
  const res = await fetch(`${server.url}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${pathAndQuery}: HTTP ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** Every event the server stored (newest first, as /v1/events returns them). */
export async function storedEvents(server, token, limit = 1000) {
  return (await adminGet(server, `/v1/events?limit=${limit}`, token)).events;
}

/** Waits until the script-tag widget has loaded and started (`window.vitrina.ready === true`). */
export async function waitForWidget(page, timeout = 10000) {
  await page.waitForFunction(() => window.vitrina && window.vitrina.ready === true, null, { timeout });
}

/** Waits until the widget has nothing waiting or in flight (status().outbox === 0, inflight 0/false). */
export async function waitForDrained(page, timeout = 10000) {
  try {
    await page.waitForFunction(() => {
      const s = window.vitrina && window.vitrina.status && window.vitrina.status();
      return s && s.outbox === 0 && !s.inflight;
    }, null, { timeout, polling: 100 });
  } catch (e) {
    const status = await page.evaluate(() => window.vitrina && window.vitrina.status && window.vitrina.status()).catch(() => null);
    throw new Error(`the widget did not deliver everything within ${timeout} ms; status(): ${JSON.stringify(status)}`);
  }
}

/** Console warnings the widget printed (text starts with "[vitrina]"). */
export function vitrinaWarnings(page) {
  return page.consoleMessages.filter((m) => m.type === 'warning' && m.text.startsWith('[vitrina]')).map((m) => m.text);
}

/** Copies the built widget (www/dist) into `dir`. */
export function copyWidget(dir) {
  for (const f of WIDGET_FILES) {
    const src = path.join(DIST, f);
    if (!fs.existsSync(src)) throw new Error(`${src} is missing: run \`npm run build\` (npm test does it).`);
    fs.copyFileSync(src, path.join(dir, f));
  }
}

/** A plain-text table of stored events for the test log: kind, item, url, and a few details. */
export function eventsTable(events) {
  const rows = [['#', 'kind', 'item', 'url', 'qty', 'price', 'dwell_ms', 'id_hex']];
  events.forEach((e, i) => rows.push([
    String(i + 1), e.kind, e.item ?? '', e.url ?? '', e.qty ?? '', e.price ?? '', e.dwell_ms ?? '', e.id_hex,
  ].map(String)));
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => x.padEnd(w[c])).join('  ').trimEnd()).join('\n');
}
