#!/usr/bin/env node
import crypto from 'node:crypto';
// npm start: setup -> release build of the widget -> release build of the server -> run the server
// with the demo shop. PORT=8081 npm start to use another port. Ctrl-C stops cleanly.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, UserError, fmtSecs, logger, main, run } from './lib.mjs';
import { setup } from './setup.mjs';
import { build } from './build.mjs';

const log = logger('start');
const blog = logger('build');
export const SERVER_BIN = path.join(ROOT, 'target', 'release', 'vitrina-server');

/** Server command line (the contract with server/src/main.rs). */
export function serverArgs({ addr, data, widget = 'www/dist', demo = 'www/demo' }) {
  return ['serve', '--addr', addr, '--data', data, '--widget', widget, '--demo', demo];
}

export async function buildServer() {
  blog.info('server (release): cargo build --release -p vitrina-server…');
  const res = await run('cargo', ['build', '--release', '-p', 'vitrina-server'], { inherit: true });
  if (res.code !== 0) throw new UserError('cargo build --release -p vitrina-server failed (see the compiler output above).');
  if (!fs.existsSync(SERVER_BIN)) throw new UserError(`${SERVER_BIN} was not produced (is the binary named vitrina-server?).`);
  blog.info(`server (release)… ${fmtSecs(res.ms)}`);
}

function portFree(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function connects(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function start() {
  const t0 = Date.now();
  const port = Number(process.env.PORT || 8080);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UserError(`PORT=${process.env.PORT} is not a valid port number.`);
  if (!(await portFree(port))) {
    throw new UserError(`port ${port} is in use; try PORT=${port + 1} npm start`);
  }
  if ((await setup()) !== 0) return 1;
  await build();
  await buildServer();
  if (!(await portFree(port))) throw new UserError(`port ${port} is in use; try PORT=${port + 1} npm start`);

  // The demo's admin token: made once, kept in the data dir, so the dashboard
  // sign-in survives restarts.
  const dataDir = path.join(ROOT, '.vitrina-data');
  fs.mkdirSync(dataDir, { recursive: true });
  const tokenFile = path.join(dataDir, 'admin-token');
  let token = fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '';
  if (!/^[0-9a-f]{32}$/.test(token)) {
    token = crypto.randomBytes(16).toString('hex');
    fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  }
  const args = [...serverArgs({ addr: `127.0.0.1:${port}`, data: '.vitrina-data' }), '--admin-token', token];
  log.info(`ready in ${fmtSecs(Date.now() - t0)}; starting: target/release/vitrina-server ${args.slice(0, -1).join(' ')} <token>`);
  const child = spawn(SERVER_BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });

  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    console.log('');
    console.log(`  Demo shop:  http://127.0.0.1:${port}/shop/`);
    console.log(`  Dashboard:  http://127.0.0.1:${port}/   (admin token: ${token})`);
    console.log('');
    console.log('(Ctrl-C to stop)');
  };
  let recent = '';
  const forward = (stream, out) => {
    let pending = '';
    stream.on('data', (d) => {
      out.write(d);
      recent = (recent + d).slice(-4000);
      pending += d;
      if (/listening on/i.test(pending)) {
        pending = '';
        setImmediate(announce);
      }
      pending = pending.slice(-200);
    });
  };
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  // Fallback if the server does not print a "listening on" line: poll the port.
  const poll = setInterval(async () => {
    if (announced) return clearInterval(poll);
    if (await connects(port)) { clearInterval(poll); announce(); }
  }, 250);

  let stopping = false;
  const stop = (sig) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[start] stopping the server (${sig})…`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearInterval(poll);
  // A terminal's Ctrl-C reaches the server directly too (same process group): that is a clean stop.
  if (stopping || ['SIGINT', 'SIGTERM'].includes(signal) || code === 130) {
    log.info('server stopped');
    return 0;
  }
  if (/address already in use|AddrInUse|os error 98/i.test(recent)) {
    throw new UserError(`port ${port} is in use; try PORT=${port + 1} npm start`);
  }
  throw new UserError(`vitrina-server exited unexpectedly (${signal ?? `exit code ${code}`}; its output is above).`);
}

if (process.argv[1]?.endsWith('scripts/start.mjs')) {
  main('start', start);
}
