// The recording servers of one benchmark phase (one tool, one page): a page origin
// that serves the HTML and the scripts, and a collector origin (another port, so
// another origin, as a vendor's collector is) that records every request's method,
// path, headers and body bytes and answers it the way the tool's SDK needs.
// Node built-ins only.
import http from 'node:http';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};
export const mimeOf = (p) => MIME[(/\.[a-z]+$/.exec(p) || [''])[0]] || 'application/octet-stream';

/** Approximate bytes of an HTTP/1.1 request head as it went on the wire. */
function headBytes(req) {
  let n = `${req.method} ${req.url} HTTP/1.1\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2) n += req.rawHeaders[i].length + req.rawHeaders[i + 1].length + 4;
  return n;
}

function listen(handler) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Starts the two servers of a phase.
 * @param {object} o
 * @param {(phase) => string} o.html            the page
 * @param {(path: string, phase) => ({body: Buffer|string, type?: string}|null)} o.pageFile   a file on the page origin
 * @param {(req, body, phase) => ({status?, headers?, body?}|null|Promise)} o.collect    the collector's answer (null: 404)
 * @param {Record<string, {body: Buffer|string, type?: string}>} [o.collectorFiles] path -> file on the collector origin
 * @param {boolean} [o.coi]                     serve the page cross-origin isolated (COOP/COEP)
 */
export async function startPhase(o) {
  const requests = [];
  const phase = { requests, pageUrl: '', collectorUrl: '', pageOrigin: '', collectorOrigin: '', lastAt: Date.now() };

  const record = (side, req, body) => {
    const u = new URL(req.url, 'http://x');
    const r = {
      side,
      at: Date.now(),
      method: req.method,
      path: u.pathname,
      query: u.search,
      headers: req.headers,
      headBytes: headBytes(req),
      body,
    };
    requests.push(r);
    phase.lastAt = r.at;
    return r;
  };
  const readBody = async (req) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks);
  };

  const pageServer = await listen(async (req, res) => {
    try {
      const body = await readBody(req);
      const r = record('page', req, body);
      const isolation = o.coi
        ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
        : {};
      if (r.path === '/' || r.path === '/index.html') {
        res.writeHead(200, { 'content-type': MIME['.html'], 'cache-control': 'no-store', ...isolation });
        return res.end(o.html(phase));
      }
      const f = o.pageFile(r.path, phase);
      if (f) {
        res.writeHead(200, { 'content-type': f.type || mimeOf(r.path), 'cache-control': 'no-store', ...isolation });
        r.servedBytes = Buffer.byteLength(f.body);
        return res.end(f.body);
      }
      res.writeHead(r.path === '/favicon.ico' ? 204 : 404, { 'cache-control': 'no-store' }).end();
    } catch (e) {
      res.destroy();
    }
  });

  const collectorServer = await listen(async (req, res) => {
    try {
      const body = await readBody(req);
      const r = record('collector', req, body);
      // CORS as a vendor's collector answers: the page's origin echoed with
      // credentials allowed (some SDKs send cookies), any requested header, cached preflights.
      const origin = req.headers.origin;
      const cors = {
        'access-control-allow-origin': origin && origin !== 'null' ? origin : '*',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-expose-headers': 'Retry-After',
        'cross-origin-resource-policy': 'cross-origin',
        'cache-control': 'no-store',
        vary: 'Origin',
      };
      if (req.method === 'OPTIONS') {
        r.kind = 'preflight';
        res.writeHead(204, {
          ...cors,
          'access-control-allow-headers': req.headers['access-control-request-headers'] || '*',
          'access-control-max-age': '600',
        });
        return res.end();
      }
      const f = o.collectorFiles && o.collectorFiles[r.path];
      if (f && req.method === 'GET') {
        r.kind = 'script';
        r.servedBytes = Buffer.byteLength(f.body);
        res.writeHead(200, { ...cors, 'content-type': f.type || mimeOf(r.path) });
        return res.end(f.body);
      }
      let a = null;
      try {
        a = await o.collect(r, body, phase);
      } catch (e) {
        r.error = String(e && e.message);
      }
      if (!a) {
        r.kind = r.kind || 'unknown';
        res.writeHead(404, { ...cors, 'content-type': 'text/plain' });
        return res.end('not found');
      }
      const out = a.body == null ? '' : typeof a.body === 'string' || Buffer.isBuffer(a.body) ? a.body : JSON.stringify(a.body);
      res.writeHead(a.status || 200, { ...cors, 'content-type': a.type || 'application/json', ...(a.headers || {}) });
      res.end(out);
    } catch (e) {
      res.destroy();
    }
  });

  phase.pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
  phase.pageUrl = `${phase.pageOrigin}/`;
  phase.collectorOrigin = `http://127.0.0.1:${collectorServer.address().port}`;
  phase.collectorUrl = phase.collectorOrigin;
  phase.close = () =>
    Promise.all(
      [pageServer, collectorServer].map(
        (s) =>
          new Promise((resolve) => {
            s.closeAllConnections?.();
            s.close(() => resolve());
          }),
      ),
    );
  return phase;
}
