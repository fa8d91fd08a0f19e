#!/usr/bin/env node
// Installs what the build and the tests need, checking first (idempotent, fast when done):
//   1. rustup target wasm32-unknown-unknown
//   2. wasm-bindgen CLI (+ wasm-bindgen-test-runner) matching EXACTLY the wasm-bindgen in Cargo.lock
//   3. Debian chromium + chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)
//   4. node dev dependencies (npm install) when node_modules is missing or stale
//   5. PostgreSQL server binaries (Debian postgresql: initdb, pg_ctl) for the server's PostgreSQL tests;
//      nothing is started here: each test binary starts (and removes) a throwaway cluster of its own
// Usage: node scripts/setup.mjs [--check]   (--check: report only, exit 1 if something is missing)
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, UserError, capture, findProcesses, fmtSecs, logger, main, mtime, run, sleep, tail,
} from './lib.mjs';

const log = logger('setup');
const LOG_DIR = path.join(ROOT, 'target', 'setup-logs');
const CHROMIUM = '/usr/bin/chromium';
const CHROMEDRIVER = '/usr/bin/chromedriver';
const WASM_TARGET = 'wasm32-unknown-unknown';

// ---------------------------------------------------------------- 1. wasm32 target, rust-src

// rust-src lets the release build rebuild the standard library without its panic
// and formatting machinery (scripts/build.mjs): about 4 KB gzip off the wasm.
async function ensureRustSrc({ check }) {
  const r = capture('rustup', ['component', 'list', '--installed']);
  if (r.missing) return { name: 'rust-src', state: 'missing' };
  if (r.stdout.split('\n').some((s) => s.trim().startsWith('rust-src'))) return { name: 'rust-src', state: 'ok' };
  if (check) return { name: 'rust-src', state: 'missing' };
  log.info('adding the rust-src component (rustup)…');
  const res = await run('rustup', ['component', 'add', 'rust-src'], { logFile: path.join(LOG_DIR, 'rustup.log') });
  if (res.code !== 0) {
    // Not fatal: the build falls back to the ordinary standard library.
    log.info(`could not add rust-src (the wasm will be about 4 KB larger); log in ${path.join(LOG_DIR, 'rustup.log')}`);
    return { name: 'rust-src', state: 'missing' };
  }
  log.info(`rust-src added (${fmtSecs(res.ms)})`);
  return { name: 'rust-src', state: 'installed' };
}

async function ensureWasmTarget({ check }) {
  const r = capture('rustup', ['target', 'list', '--installed']);
  if (r.missing) {
    throw new UserError('rustup is not installed (needed to add the wasm32 target).',
      'install Rust with rustup: https://rustup.rs, then re-run `npm run setup`.');
  }
  if (r.stdout.split('\n').map((s) => s.trim()).includes(WASM_TARGET)) return { name: 'wasm32 target', state: 'ok' };
  if (check) return { name: 'wasm32 target', state: 'missing' };
  log.info(`adding rust target ${WASM_TARGET} (rustup)…`);
  const res = await run('rustup', ['target', 'add', WASM_TARGET], { logFile: path.join(LOG_DIR, 'rustup.log') });
  if (res.code !== 0) {
    throw new UserError(`\`rustup target add ${WASM_TARGET}\` failed:\n${tail(path.join(LOG_DIR, 'rustup.log'), 15)}`,
      `run it by hand to see why; full log in ${path.join(LOG_DIR, 'rustup.log')}`);
  }
  log.info(`rust target ${WASM_TARGET} added (${fmtSecs(res.ms)})`);
  return { name: 'wasm32 target', state: 'installed' };
}

// ---------------------------------------------------------------- 2. wasm-bindgen CLI

/** Version of the wasm-bindgen crate in Cargo.lock (generating the lock file if missing). */
export async function lockedWasmBindgenVersion({ generate = true } = {}) {
  const lockPath = path.join(ROOT, 'Cargo.lock');
  if (!fs.existsSync(lockPath)) {
    if (!generate) return null;
    log.info('no Cargo.lock yet: cargo generate-lockfile…');
    const res = await run('cargo', ['generate-lockfile']);
    if (res.code !== 0) {
      throw new UserError(`\`cargo generate-lockfile\` failed:\n${res.output.trim()}`,
        'fix the Cargo.toml files above (workspace members must exist), then re-run.');
    }
  }
  const text = fs.readFileSync(lockPath, 'utf8');
  const versions = new Set();
  for (const block of text.split('[[package]]')) {
    const name = /^name = "([^"]+)"/m.exec(block)?.[1];
    const version = /^version = "([^"]+)"/m.exec(block)?.[1];
    if (name === 'wasm-bindgen' && version) versions.add(version);
  }
  if (versions.size === 0) {
    throw new UserError('Cargo.lock has no wasm-bindgen package.',
      'the vitrina crate must depend on wasm-bindgen (for wasm32); check Cargo.toml, then `cargo generate-lockfile`.');
  }
  if (versions.size > 1) {
    throw new UserError(`Cargo.lock has several wasm-bindgen versions (${[...versions].join(', ')}); the CLI can match only one.`,
      'pin one version (wasm-bindgen = "=X.Y.Z") in every crate and run `cargo update -p wasm-bindgen`.');
  }
  return [...versions][0];
}

function installedWasmBindgen() {
  const r = capture('wasm-bindgen', ['--version']);
  if (!r.ok) return null;
  const v = /wasm-bindgen\s+(\S+)/.exec(r.stdout)?.[1] ?? null;
  const runner = capture('wasm-bindgen-test-runner', ['--version']);
  // test-runner prints "wasm-bindgen-test-runner X.Y.Z"; treat a missing runner as "not installed"
  if (!runner.ok && runner.missing) return null;
  return v;
}

const isCargoInstallOfWbg = (argv) =>
  argv.some((a) => path.basename(a) === 'cargo' || a.endsWith('/cargo')) &&
  argv.includes('install') && argv.some((a) => a.includes('wasm-bindgen-cli'));

async function waitFor(pred, label, logHint) {
  const t0 = Date.now();
  let procs = findProcesses(pred);
  if (!procs.length) return false;
  log.info(`${label} is already running (pid ${procs.map((p) => p.pid).join(', ')}); waiting for it instead of starting a second one…`);
  let lastReport = Date.now();
  while ((procs = findProcesses(pred)).length) {
    await sleep(2000);
    if (Date.now() - lastReport >= 30000) {
      lastReport = Date.now();
      let extra = '';
      if (logHint && fs.existsSync(logHint)) extra = `  ${tail(logHint, 1).trim().slice(0, 100)}`;
      log.info(`…still waiting for ${label} (${fmtSecs(Date.now() - t0)})${extra}`);
    }
  }
  log.info(`${label} finished after ${fmtSecs(Date.now() - t0)} of waiting`);
  return true;
}

async function ensureWasmBindgen({ check }) {
  const want = await lockedWasmBindgenVersion({ generate: !check });
  const name = (v) => `wasm-bindgen ${v}`;
  if (want === null) return { name: 'wasm-bindgen', state: 'missing', note: 'no Cargo.lock' };
  let have = installedWasmBindgen();
  if (have === want) return { name: name(want), state: 'ok' };
  if (check) return { name: name(want), state: 'missing', note: have ? `have ${have}` : 'not installed' };

  // Someone (another setup, or a person) may be installing it right now: wait rather than race.
  if (await waitFor(isCargoInstallOfWbg, 'cargo install wasm-bindgen-cli', '/tmp/setup/wbg.log')) {
    have = installedWasmBindgen();
    if (have === want) return { name: name(want), state: 'installed' };
  }

  const logFile = path.join(LOG_DIR, 'wasm-bindgen-cli.log');
  log.info(`installing wasm-bindgen-cli ${want} (cargo install; ~6 min on 2 cores${have ? `, replacing ${have}` : ''})… log: ${path.relative(ROOT, logFile)}`);
  // NB: no --locked: wasm-bindgen-cli's own lock file does not build with this toolchain.
  const res = await run('cargo', ['install', 'wasm-bindgen-cli', '--version', `=${want}`, '--force'], {
    logFile, heartbeat: { log, label: 'installing wasm-bindgen-cli', every: 30000 },
  });
  if (res.code !== 0) {
    throw new UserError(`cargo install wasm-bindgen-cli --version =${want} failed (${fmtSecs(res.ms)}):\n${tail(logFile, 25)}`,
      `full log: ${logFile}. Needs network access to crates.io and a C compiler (gcc).`);
  }
  have = installedWasmBindgen();
  if (have !== want) {
    throw new UserError(`installed wasm-bindgen-cli ${want} but \`wasm-bindgen --version\` says ${have ?? 'nothing'}.`,
      'is ~/.cargo/bin on PATH, ahead of any other wasm-bindgen?');
  }
  log.info(`wasm-bindgen-cli ${want} installed (${fmtSecs(res.ms)})`);
  return { name: name(want), state: 'installed' };
}

// ---------------------------------------------------------------- 3. chromium + chromedriver

function chromiumVersion() {
  if (!fs.existsSync(CHROMIUM) || !fs.existsSync(CHROMEDRIVER)) return null;
  const r = capture(CHROMIUM, ['--version']);
  const v = /(\d+)\.\d+\.\d+\.\d+/.exec(r.stdout);
  return v ? { full: v[0], major: v[1] } : { full: '?', major: '?' };
}

const isPackageManager = (argv) =>
  ['apt', 'apt-get', 'dpkg', 'aptitude', 'unattended-upgr', 'unattended-upgrade'].includes(path.basename(argv[0])) ||
  (argv[0].includes('python') && argv.some((a) => a.includes('unattended-upgrade')));

async function aptGet(args, logFile, label, packages = 'chromium chromium-driver') {
  const sudo = typeof process.getuid === 'function' && process.getuid() !== 0;
  const [cmd, argv] = sudo ? ['sudo', ['-n', 'apt-get', ...args]] : ['apt-get', args];
  const res = await run(cmd, argv, {
    logFile, env: { DEBIAN_FRONTEND: 'noninteractive' }, heartbeat: { log, label, every: 20000 },
  });
  if (res.code !== 0) {
    throw new UserError(`\`${cmd} ${argv.join(' ')}\` failed:\n${tail(logFile, 20)}`,
      sudo ? `run as root, or install them yourself: sudo apt-get install -y ${packages}`
        : `full log: ${logFile}`);
  }
  return res;
}

// One `apt-get update` per run, whoever needs it first (apt installs run one after the other).
let aptUpdated = null;
function aptUpdateOnce(logFile, packages) {
  if (!aptUpdated) {
    log.info('apt-get update…');
    aptUpdated = aptGet(['update'], logFile, 'apt-get update', packages);
  }
  return aptUpdated;
}

async function ensureChromium({ check }) {
  let v = chromiumVersion();
  if (v) return { name: `chromium ${v.major}`, state: 'ok' };
  if (check) return { name: 'chromium', state: 'missing' };
  if (!fs.existsSync('/usr/bin/apt-get')) {
    throw new UserError(`${CHROMIUM} / ${CHROMEDRIVER} are missing and this is not a Debian-like system (no apt-get).`,
      'install Chromium and a matching ChromeDriver at those paths.');
  }
  if (await waitFor(isPackageManager, 'apt/dpkg', '/tmp/setup/apt.log')) {
    v = chromiumVersion();
    if (v) return { name: `chromium ${v.major}`, state: 'installed' };
  }
  const logFile = path.join(LOG_DIR, 'apt.log');
  const t0 = Date.now();
  // Refresh the package lists first: stale lists install an old chromium, or point at .debs the
  // mirror no longer has. Only reached when something must be installed.
  await aptUpdateOnce(logFile);
  log.info('installing chromium + chromium-driver (apt, ~120 MB)…');
  await aptGet(['install', '-y', '--no-install-recommends', 'chromium', 'chromium-driver'], logFile, 'installing chromium (apt)');
  v = chromiumVersion();
  if (!v) throw new UserError(`apt-get finished but ${CHROMIUM} or ${CHROMEDRIVER} is still missing.`, `see ${logFile}`);
  log.info(`chromium ${v.full} + chromedriver installed (${fmtSecs(Date.now() - t0)})`);
  return { name: `chromium ${v.major}`, state: 'installed' };
}

// ---------------------------------------------------------------- 4. node dev dependencies

async function ensureNodeDeps({ check }) {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  const stale = !fs.existsSync(marker) ||
    mtime(lock) > mtime(marker) || mtime(path.join(ROOT, 'package.json')) > mtime(marker);
  if (!stale) return { name: 'node deps', state: 'ok' };
  if (check) return { name: 'node deps', state: 'missing' };
  log.info('installing node dev dependencies (npm install)…');
  const logFile = path.join(LOG_DIR, 'npm.log');
  const res = await run('npm', ['install', '--no-audit', '--no-fund'], { logFile, heartbeat: { log, label: 'npm install', every: 20000 } });
  if (res.code !== 0) {
    throw new UserError(`npm install failed:\n${tail(logFile, 20)}`, `full log: ${logFile}`);
  }
  // npm may leave package-lock.json untouched and the marker older than package.json: touch it.
  const now = new Date();
  try { fs.utimesSync(marker, now, now); } catch { /* ignore */ }
  log.info(`node dev dependencies installed (${fmtSecs(res.ms)})`);
  return { name: 'node deps', state: 'installed' };
}

// ---------------------------------------------------------------- 5. PostgreSQL (server tests)

/** Directory holding initdb and pg_ctl (PATH first, then Debian's /usr/lib/postgresql/N/bin, newest), or null. */
export function postgresBinDir() {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  let versions = [];
  try {
    versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a);
  } catch { /* not installed */ }
  dirs.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  return dirs.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl'))) ?? null;
}

function postgresVersion(dir) {
  const v = /(\d+(?:\.\d+)?)/.exec(capture(path.join(dir, 'pg_ctl'), ['--version']).stdout)?.[1];
  return v ? `postgresql ${v}` : 'postgresql';
}

async function ensurePostgres({ check }) {
  let dir = postgresBinDir();
  if (dir) return { name: postgresVersion(dir), state: 'ok' };
  if (check) return { name: 'postgresql', state: 'missing', note: 'initdb/pg_ctl not found' };
  if (!fs.existsSync('/usr/bin/apt-get')) {
    throw new UserError('PostgreSQL (initdb, pg_ctl) is missing and this is not a Debian-like system (no apt-get).',
      'install the PostgreSQL server package, or set VITRINA_PG_BIN to the directory holding initdb and pg_ctl.');
  }
  if (await waitFor(isPackageManager, 'apt/dpkg', '/tmp/setup/apt.log')) {
    dir = postgresBinDir();
    if (dir) return { name: postgresVersion(dir), state: 'installed' };
  }
  const logFile = path.join(LOG_DIR, 'apt.log');
  const t0 = Date.now();
  await aptUpdateOnce(logFile, 'postgresql');
  log.info('installing postgresql (apt, ~50 MB; only the binaries are used: the tests start their own clusters)…');
  await aptGet(['install', '-y', '--no-install-recommends', 'postgresql'], logFile, 'installing postgresql (apt)',
    'postgresql');
  dir = postgresBinDir();
  if (!dir) throw new UserError('apt-get installed postgresql but initdb/pg_ctl are still missing.', `see ${logFile}`);
  log.info(`${postgresVersion(dir)} installed in ${dir} (${fmtSecs(Date.now() - t0)})`);
  return { name: postgresVersion(dir), state: 'installed' };
}

// ---------------------------------------------------------------- main

export async function setup({ check = false, quiet = false } = {}) {
  const t0 = Date.now();
  const rustc = capture('cargo', ['--version']);
  if (rustc.missing) {
    throw new UserError('cargo is not installed.', 'install Rust with rustup (https://rustup.rs), then re-run.');
  }
  const results = [];
  results.push(await ensureWasmTarget({ check }));
  results.push(await ensureRustSrc({ check }));
  // The two slow installs (cargo: CPU, apt: download) run side by side; apt installs one after the other.
  const aptLane = async () => [await ensureChromium({ check }), await ensurePostgres({ check })];
  const [wbg, [chromium, postgres]] = await Promise.all([ensureWasmBindgen({ check }), aptLane()]);
  results.push(wbg, chromium);
  results.push(await ensureNodeDeps({ check }));
  results.push(postgres);

  const mark = { ok: '✓', installed: '✓ (installed now)', missing: '✗ missing' };
  const parts = results.map((r) => `${r.name} ${mark[r.state]}${r.note ? ` (${r.note})` : ''}`);
  const missing = results.filter((r) => r.state === 'missing');
  const elapsed = fmtSecs(Date.now() - t0);
  if (missing.length) {
    log.info(`not ready: ${parts.join(', ')} (${elapsed})`);
    log.info('→ run `npm run setup` to install what is missing');
    return 1;
  }
  const fresh = results.every((r) => r.state === 'ok');
  if (!quiet || !fresh) log.info(`ready: ${parts.join(', ')} (${elapsed})${fresh ? ' — everything was already installed' : ''}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('scripts/setup.mjs')) {
  main('setup', () => setup({ check: process.argv.includes('--check') }));
}
