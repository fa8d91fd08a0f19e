// A small fault-injecting HTTP proxy for the delivery tests (tests/e2e/faults.test.mjs).
//
// It listens on 127.0.0.1 and forwards every request to a target server (the real
// vitrina-server). Faults apply only to `POST /v1/collect` (the widget's deliveries);
// pages, the widget files and the popularity feed always pass. It also serves small
// fixture pages itself under /fx/ (see `fixture()`), so a page, the widget and its
// endpoint share one origin: the proxy's.
//
// Faults, consumed in order by each collect request (the first active rule applies):
//   proxy.fault({ action, count?, ms?, ... })
//     count: applies to the next `count` requests;  ms: to every request for `ms` ms
//     (from now, or from the first request it meets when `startOnFirst` is set).
//   actions:
//     { action: 'status', status: 500, headers: { 'Retry-After': '2' } }  answer without forwarding
//     { action: 'reset', forward: false }  destroy the connection (TCP reset) on arrival;
//                                          forward: true = after the server has committed it
//     { action: 'stall', stallMs: 10000, forward: true, then: 'drop' | 'answer' }
//        hold the request stallMs (forwarded first when `forward`), then drop the
//        connection or pass the server's answer on
//     { action: 'slow', bytesPerSecond: 100 }  trickle the body to the server
//   proxy.keepAlive = false: every answer closes its connection (no reused connections).
//
// Everything is recorded in `proxy.log`: one entry per collect request:
//   { t, bytes, hash, fault, status, forwarded, upstreamStatus, ms }
// (status 0 = the connection was destroyed). `stats(since)` sums it.
//
// Bounded by construction: it only ever connects to the target given (127.0.0.1),
// holds a request at most `stallMs`, and `close()` destroys every open socket.
import crypto from 'node:crypto';
import http from 'node:http';

/** Starts the proxy in front of `target` (e.g. http://127.0.0.1:43121). */
export async function startFaultProxy(target, { fixtures = {} } = {}) {
  const up = new URL(target);
  const log = [];
  let rules = [];
  // When false, every answer closes its connection, so the browser's next request opens
  // a new one (Chromium resends some requests by itself on a reused connection).
  const state = { keepAlive: true };
  const sockets = new Set();
  const timers = new Set();
  const later = (ms, f) => {
    const id = setTimeout(() => { timers.delete(id); f(); }, ms);
    timers.add(id);
  };

  function ruleFor(now) {
    while (rules.length) {
      const r = rules[0];
      if (r.count != null && r.used >= r.count) { rules.shift(); continue; }
      if (r.ms != null && r.start != null && now >= r.start + r.ms) { rules.shift(); continue; }
      if (r.ms != null && r.start == null) r.start = now;
      r.used++;
      return r;
    }
    return null;
  }

  /** Forwards a request; resolves { status, headers, body } or rejects. */
  function forward(req, body, { slow } = {}) {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: up.host };
      delete headers.connection;
      const out = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      if (!slow) return out.end(body);
      // Trickle: `slow` bytes every second.
      let i = 0;
      const step = () => {
        if (out.destroyed) return;
        out.write(body.subarray(i, i + slow));
        i += slow;
        if (i >= body.length) out.end();
        else later(1000, step);
      };
      step();
    });
  }

  function reply(res, r) {
    const h = { ...r.headers };
    delete h['transfer-encoding'];
    delete h.connection;
    h['content-length'] = String(r.body.length);
    if (!state.keepAlive) h.connection = 'close';
    res.writeHead(r.status, h).end(r.body);
  }

  function destroy(req, res) {
    const s = req.socket;
    if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
    else s.destroy();
    res.destroy();
  }

  async function collect(req, res, body, entry) {
    const rule = ruleFor(Date.now());
    entry.fault = rule ? rule.action + (rule.status ? ' ' + rule.status : '') : '';
    const done = (status) => {
      entry.status = status;
      entry.ms = Date.now() - entry.t;
    };
    try {
      if (!rule) {
        const r = await forward(req, body);
        entry.forwarded = true;
        entry.upstreamStatus = r.status;
        reply(res, r);
        return done(r.status);
      }
      if (rule.action === 'status') {
        const text = `injected fault: HTTP ${rule.status}`;
        const h = { 'content-type': 'text/plain', 'content-length': String(text.length), ...(rule.headers || {}) };
        if (!state.keepAlive) h.connection = 'close';
        res.writeHead(rule.status, h).end(text);
        return done(rule.status);
      }
      if (rule.action === 'reset') {
        if (rule.forward) {
          const r = await forward(req, body);
          entry.forwarded = true;
          entry.upstreamStatus = r.status;
        }
        destroy(req, res);
        return done(0);
      }
      if (rule.action === 'stall') {
        let r = null;
        if (rule.forward) {
          r = await forward(req, body);
          entry.forwarded = true;
          entry.upstreamStatus = r.status;
        }
        later(rule.stallMs, async () => {
          try {
            if (rule.then === 'answer') {
              if (!r) {
                r = await forward(req, body);
                entry.forwarded = true;
                entry.upstreamStatus = r.status;
              }
              if (!res.destroyed && !req.socket.destroyed) reply(res, r);
              done(res.destroyed ? 0 : r.status);
            } else {
              destroy(req, res);
              done(0);
            }
          } catch (e) {
            destroy(req, res);
            done(0);
          }
        });
        return;
      }
      if (rule.action === 'slow') {
        const r = await forward(req, body, { slow: rule.bytesPerSecond });
        entry.forwarded = true;
        entry.upstreamStatus = r.status;
        reply(res, r);
        return done(r.status);
      }
      throw new Error(`unknown fault ${rule.action}`);
    } catch (e) {
      entry.error = e.message;
      if (!res.headersSent && !res.destroyed) res.writeHead(502, { 'content-type': 'text/plain' }).end('proxy: ' + e.message);
      done(502);
    }
  }

  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    const chunks = [];
    try {
      for await (const c of req) chunks.push(c);
    } catch (e) {
      return;
    }
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && pathname === '/v1/collect') {
      const hash = crypto.createHash('sha1').update(body).digest('hex').slice(0, 16);
      const entry = { t: Date.now(), bytes: body.length, hash, fault: '', status: null, forwarded: false, upstreamStatus: null, ms: null };
      log.push(entry);
      return collect(req, res, body, entry);
    }
    if (pathname.startsWith('/fx/')) {
      const html = fixtures.page ? fixtures.page(pathname, req) : null;
      if (html == null) return res.writeHead(404, { 'content-type': 'text/plain' }).end('no such fixture');
      const h = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
      if (!state.keepAlive) h.connection = 'close';
      return res.writeHead(200, h).end(html);
    }
    if (pathname === '/favicon.ico') return res.writeHead(204).end();
    try {
      reply(res, await forward(req, body));
    } catch (e) {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('proxy: ' + e.message);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    log,
    /** Whether connections are kept open between requests (default true). */
    set keepAlive(on) {
      state.keepAlive = !!on;
    },
    get keepAlive() {
      return state.keepAlive;
    },
    /** Adds a fault rule (see the top of this file). */
    fault(rule) {
      rules.push({ used: 0, start: rule.startOnFirst ? null : rule.ms != null ? Date.now() : null, ...rule });
    },
    /** Removes every rule not yet used up. */
    clear() {
      rules = [];
    },
    /** Rules still active. */
    pending() {
      return rules.filter((r) => !(r.count != null && r.used >= r.count) && !(r.ms != null && r.start != null && Date.now() >= r.start + r.ms)).length;
    },
    /** Collect requests still waiting for their outcome (stalled). */
    open() {
      return log.filter((e) => e.status == null).length;
    },
    /** Sums of the log from index `since`. */
    stats(since = 0) {
      const l = log.slice(since);
      const seen = new Set();
      let repeats = 0;
      for (const e of l) {
        if (seen.has(e.hash)) repeats++;
        seen.add(e.hash);
      }
      return {
        repeats, // requests whose exact body had already been sent (resends, beacons of stored batches)
        requests: l.length,
        bytes: l.reduce((s, e) => s + e.bytes, 0),
        forwarded: l.filter((e) => e.forwarded).length,
        ok: l.filter((e) => e.status >= 200 && e.status < 300).length,
        faulted: l.filter((e) => e.fault).length,
      };
    },
    close() {
      rules = [];
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
