// Shared helpers for the Vitrina dev scripts (setup, build, size, start, test).
// Node built-ins only.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const rel = (p) => path.relative(ROOT, p) || '.';

// ---------------------------------------------------------------- output

export function logger(tag) {
  const pre = `[${tag}]`;
  return {
    info: (msg) => console.log(`${pre} ${msg}`),
    warn: (msg) => console.error(`${pre} warning: ${msg}`),
    error: (msg) => console.error(`${pre} error: ${msg}`),
  };
}

export function fmtSecs(ms) {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** An error whose message is meant for humans (no stack trace). */
export class UserError extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

/** Run main(); print UserErrors without stack; set exit code. */
export async function main(tag, fn) {
  const log = logger(tag);
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    if (err instanceof UserError) {
      log.error(err.message);
      if (err.hint) console.error(`[${tag}] → ${err.hint}`);
    } else {
      log.error(err?.stack || String(err));
    }
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------- processes

/** Synchronous capture; never throws. Returns { ok, code, stdout, stderr }. */
export function capture(cmd, args = [], opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT, ...opts });
  if (r.error) return { ok: false, code: null, stdout: '', stderr: String(r.error.message), missing: r.error.code === 'ENOENT' };
  return { ok: r.status === 0, code: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}

/**
 * Run a command asynchronously.
 *  - inherit: true  -> output goes straight to the terminal
 *  - tee: true      -> output is shown and also returned as `output`
 *  - logFile        -> output is appended to this file; on failure its tail is printed
 *  - heartbeat      -> { log, label, every } prints "label… still running (1m30s)" periodically
 * Resolves { code, ms }; rejects only when the command cannot be started.
 */
export function run(cmd, args, opts = {}) {
  const { inherit = false, tee = false, logFile, heartbeat, env, cwd = ROOT } = opts;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    let out = null;
    if (logFile) {
      fs.mkdirSync(path.dirname(logFile), { recursive: true });
      out = fs.openSync(logFile, 'a');
      fs.writeSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
    }
    const stdio = inherit ? 'inherit' : out !== null ? ['ignore', out, out] : ['ignore', 'pipe', 'pipe'];
    const child = spawn(cmd, args, { cwd, stdio, env: { ...process.env, ...env } });
    let buf = '';
    if (!inherit && out === null) {
      child.stdout.on('data', (d) => {
        buf += d;
        if (tee) process.stdout.write(d);
      });
      child.stderr.on('data', (d) => {
        buf += d;
        if (tee) process.stderr.write(d);
      });
    }
    let timer = null;
    if (heartbeat) {
      timer = setInterval(() => {
        let last = '';
        if (logFile) last = lastLine(logFile);
        heartbeat.log.info(`${heartbeat.label}… still running (${fmtSecs(Date.now() - t0)})${last ? `  ${last}` : ''}`);
      }, heartbeat.every ?? 30000);
    }
    child.on('error', (e) => {
      if (timer) clearInterval(timer);
      if (out !== null) fs.closeSync(out);
      reject(e.code === 'ENOENT' ? new UserError(`command not found: ${cmd}`) : e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      if (out !== null) fs.closeSync(out);
      resolve({ code: code ?? (signal ? 128 : 1), signal, ms: Date.now() - t0, output: buf });
    });
  });
}

export function lastLine(file, maxLen = 100) {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd();
    const line = text.slice(text.lastIndexOf('\n') + 1).trim();
    return line.length > maxLen ? line.slice(0, maxLen - 1) + '…' : line;
  } catch {
    return '';
  }
}

export function tail(file, n = 30) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** PIDs (other than ours) whose command line matches `pred(argv)`. Linux /proc only. */
export function findProcesses(pred) {
  const found = [];
  let entries = [];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.length && pred(argv)) found.push({ pid: Number(e), argv });
    } catch {
      /* gone */
    }
  }
  return found;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- files

export function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** Newest mtime among files under the given paths (dirs walked recursively; filter on file path). */
export function newestMtime(paths, filter = () => true) {
  let newest = 0;
  const walk = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) {
        if (e === 'node_modules' || e === 'target' || e.startsWith('.')) continue;
        walk(path.join(p, e));
      }
    } else if (filter(p)) {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of paths) walk(p);
  return newest;
}

/** Oldest mtime of outputs; 0 if any is missing. */
export function oldestMtime(paths) {
  let oldest = Infinity;
  for (const p of paths) {
    const m = mtime(p);
    if (!m) return 0;
    oldest = Math.min(oldest, m);
  }
  return oldest === Infinity ? 0 : oldest;
}

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** Align a table of rows (arrays of strings). `right` = set of column indexes to right-align. */
export function table(rows, right = new Set()) {
  const widths = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (right.has(i) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
