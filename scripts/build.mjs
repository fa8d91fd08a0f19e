#!/usr/bin/env node
// Builds the browser widget:
//   1. cargo build --lib --target wasm32-unknown-unknown --profile wasm   (--dev: default dev profile),
//      twice: without the opt-in features (--no-default-features) and with them
//   2. wasm-opt -Oz (release only)                        -> www/dist/vitrina_core_bg.wasm
//                                                            www/dist/vitrina_core_full_bg.wasm
//   3. esbuild: www/src/loader.js -> www/dist/vitrina.js (iife)
//               www/src/core.js   -> www/dist/vitrina-core.js (esm, bundles the glue
//                                    www/src/vitrina_core.js, written by hand: src/web/abi.rs)
//                                  + www/dist/panel-dialog.js (the shopper's panel, loaded on demand)
//                                  + www/dist/messages.js (developer messages, loaded on demand)
//      then (release) terser over those three files: about 0.5 KB gzip less than esbuild's
//      minifier alone (docs/size.md)
//      npm package files          -> www/npm/dist/ (the JS face as-is, optimized .wasm)
// Steps whose outputs are newer than their inputs are skipped.
// Usage: node scripts/build.mjs [--dev] [--force]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { writePages } from '../www/demo/tools/pages.mjs';
import {
  ROOT, UserError, capture, fmtBytes, fmtSecs, logger, main, mtime, newestMtime, oldestMtime, rel, run, table,
} from './lib.mjs';

const log = logger('build');
const TARGET = 'wasm32-unknown-unknown';
const CRATE = 'vitrina';
const OUT_NAME = 'vitrina_core';
const P = (...a) => path.join(ROOT, ...a);

export const paths = {
  dist: P('www', 'dist'),
  distLoader: P('www', 'dist', 'vitrina.js'),
  distCore: P('www', 'dist', 'vitrina-core.js'),
  distWasm: P('www', 'dist', `${OUT_NAME}_bg.wasm`),
  // With the features a shop opts into (`format: 'json'`, `ldpEpsilon`): the glue
  // loads it instead when the config asks for one (Cargo.toml [features]).
  distWasmFull: P('www', 'dist', `${OUT_NAME}_full_bg.wasm`),
  // The shopper's panel: a chunk the module imports the first time the panel opens.
  distPanel: P('www', 'dist', 'panel-dialog.js'),
  // What the widget tells developers (debug warnings, config errors): a chunk
  // fetched only when there is something to say.
  distMessages: P('www', 'dist', 'messages.js'),
  npmDir: P('www', 'npm'),
  npmDist: P('www', 'npm', 'dist'),
  loaderSrc: P('www', 'src', 'loader.js'),
  coreSrc: P('www', 'src', 'core.js'),
};
// The two builds of the wasm: `default` without the opt-in features, `full` with them.
export const VARIANTS = ['default', 'full'];
const cargoOut = (dev, dir = P('target')) => path.join(dir, TARGET, dev ? 'debug' : 'wasm', `${CRATE}.wasm`);
const rawWasm = (dev, v) => P('target', TARGET, dev ? 'debug' : 'wasm', `${CRATE}-${v}.wasm`);
const distWasm = (v) => (v === 'full' ? paths.distWasmFull : paths.distWasm);
const featureArgs = (v) => (v === 'full' ? [] : ['--no-default-features']);

// wasm features rustc enables by default for wasm32-unknown-unknown; wasm-opt must accept them
// (the target_features section normally tells it, these make it explicit).
const WASM_FEATURES = [
  '--enable-bulk-memory', '--enable-bulk-memory-opt', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue', '--enable-call-indirect-overlong',
];

// ---------------------------------------------------------------- freshness stamps

const STAMP_DIR = P('target', 'build-stamps');
function stampOk(step, key, outputs, inputsNewest) {
  const oldest = oldestMtime(outputs);
  if (!oldest || oldest < inputsNewest) return false;
  try {
    return fs.readFileSync(path.join(STAMP_DIR, `${step}.stamp`), 'utf8') === key;
  } catch {
    return false;
  }
}
function writeStamp(step, key) {
  fs.mkdirSync(STAMP_DIR, { recursive: true });
  fs.writeFileSync(path.join(STAMP_DIR, `${step}.stamp`), key);
}

// `id` names the stamp (by default the step's name): steps that write the same
// files in a dev and a release build share it, so switching builds rebuilds them.
async function step(name, { id = name, key, outputs, inputs, force }, fn) {
  if (!force && stampOk(id, key, outputs, inputs)) {
    log.info(`${name}: up to date, skipped`);
    return false;
  }
  log.info(`${name}…`);
  const t0 = Date.now();
  await fn();
  writeStamp(id, key);
  log.info(`${name}… ${fmtSecs(Date.now() - t0)}`);
  return true;
}

// ---------------------------------------------------------------- steps

function rustInputs() {
  // every file under src/ (include_str!/include_bytes! data too), plus build.rs
  const rs = newestMtime([P('src'), P('build.rs')]);
  return Math.max(rs, mtime(P('Cargo.toml')), mtime(P('Cargo.lock')), mtime(P('.cargo', 'config.toml')));
}

// The smallest wasm comes from rebuilding the standard library without its panic
// and formatting machinery (-Zbuild-std with panic=immediate-abort): about 4 KB
// gzip less. Those flags are unstable, so they are enabled with RUSTC_BOOTSTRAP
// on the stable toolchain and need the rust-src component; when that is missing
// or the build fails, the ordinary release build is used and the size report
// says so. See docs/size.md.
const MIN_DIR = P('target', 'wasm-min');
function rustSrcPresent() {
  const r = capture('rustc', ['--print', 'sysroot']);
  return r.ok && fs.existsSync(path.join(r.stdout.trim(), 'lib', 'rustlib', 'src', 'rust', 'library', 'std'));
}
let usedMinimal = false;
async function cargoBuild(dev, v) {
  fs.mkdirSync(path.dirname(rawWasm(dev, v)), { recursive: true });
  if (!dev && process.env.VITRINA_PLAIN_STD !== '1' && rustSrcPresent()) {
    const args = ['build', '--lib', '-p', CRATE, ...featureArgs(v), '--target', TARGET, '--profile', 'wasm', '-Zbuild-std=std,panic_abort', '--target-dir', MIN_DIR];
    const env = {
      ...process.env,
      RUSTC_BOOTSTRAP: '1',
      RUSTFLAGS: '-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none',
    };
    const res = await run('cargo', args, { inherit: true, env });
    const out = cargoOut(false, MIN_DIR);
    if (res.code === 0 && fs.existsSync(out)) {
      fs.copyFileSync(out, rawWasm(dev, v));
      usedMinimal = true;
      return;
    }
    log.info('minimal-std wasm build failed; falling back to the ordinary release build (a few KB larger)');
  } else if (!dev) {
    log.info('rust-src is not installed: ordinary release build (run `rustup component add rust-src` for a smaller wasm)');
  }
  const args = ['build', '--lib', '-p', CRATE, ...featureArgs(v), '--target', TARGET, ...(dev ? [] : ['--profile', 'wasm'])];
  const res = await run('cargo', args, { inherit: true });
  if (res.code !== 0) throw new UserError(`cargo ${args.join(' ')} failed (see the compiler output above).`);
  if (!fs.existsSync(cargoOut(dev))) throw new UserError(`cargo succeeded but ${rel(cargoOut(dev))} is missing (is the lib crate-type cdylib?).`);
  fs.copyFileSync(cargoOut(dev), rawWasm(dev, v));
}

async function wasmOpt(dev, v) {
  fs.mkdirSync(paths.dist, { recursive: true });
  if (dev) {
    fs.copyFileSync(rawWasm(dev, v), distWasm(v));
    return;
  }
  const bin = P('node_modules', '.bin', 'wasm-opt');
  if (!fs.existsSync(bin)) throw new UserError('node_modules/.bin/wasm-opt not found (npm package binaryen).', 'run `npm run setup`.');
  // --low-memory-unused: nothing lives in the first KB of memory (the stack comes
  // first and grows down from 1 MiB toward it), so constant offsets fold into
  // loads and stores; --converge repeats -Oz while it still shrinks (together
  // about 0.45 KB gzip, docs/size.md). Flattening and re-relooping the
  // control flow after a first -Oz gives another 0.28 KB, a second time 0.09 KB
  // more (a third: nothing). --reorder-functions
  // first puts the most called functions at the lowest indices, so calls to them
  // take the shortest LEB128 immediates (0.26 KB).
  const args = [rawWasm(false, v), '--low-memory-unused', '--reorder-functions', '-Oz', '--flatten', '--rereloop', '-Oz', '--flatten', '--rereloop', '-Oz', '--converge', ...WASM_FEATURES, '--strip-debug', '--strip-producers', '--strip-target-features', '-o', distWasm(v)];
  const res = await run(bin, args);
  if (res.code !== 0) throw new UserError(`wasm-opt failed:\n${res.output.trim()}`);
}

// Property names of the module's own objects, shortened in the release build
// (about 0.11 KB gzip): the context render.js and the panel get (api.js `v`), the
// glue's Core methods, the storage (storage.js), the page's view, the like counts
// (feedData.base) and render.js's helpers handed to the panel (panel.js). esbuild
// renames every `.name` and `name:` in the module and the panel chunk alike, so a
// name here must never be read from or given to anything else: JSON (the feed,
// the catalogue, the model head), the config, the DOM, the public API's return
// values, messages between tabs (which may run another version). That is why
// `props`, `likes`, `erase`, `hello`, `minCount` (a config setting), `persistent`
// (a status() field), `paused` (could become a recommend() option)… are not in it.
export const INTERNAL_PROPS = new RegExp(`^(${[
  'debugWarn', 'currentItem', 'feedData', 'recClick', 'setPaused', 'consentState', 'setConsent',
  'sends', 'nonce', 'record', 'seen', 'live', 'io', 'feed',
  'save_profile', 'add_item', 'add_model', 'shards_needed', 'commit', 'answer', 'batch', 'stored',
  'why', 'since', 'acc', 'core', 'locale', 'base', 'catLabel', 'el', 'fmtMoney', 'money', 'shadow',
].join('|')})$`);

async function esbuildJs(dev) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new UserError('esbuild is not installed.', 'run `npm run setup`.');
  }
  for (const f of [paths.loaderSrc, paths.coreSrc]) {
    if (!fs.existsSync(f)) throw new UserError(`${rel(f)} is missing.`);
  }
  await checkPanelText();
  // A dev build's source maps must not outlive it: a release build serves none.
  if (!dev) for (const f of fs.readdirSync(paths.dist)) if (f.endsWith('.map')) fs.rmSync(path.join(paths.dist, f));
  const common = {
    bundle: true, minify: !dev, target: 'es2020', legalComments: 'none', logLevel: 'warning',
    sourcemap: dev ? 'linked' : false, charset: 'utf8',
  };
  try {
    await esbuild.build({ ...common, entryPoints: [paths.loaderSrc], outfile: paths.distLoader, format: 'iife' });
    // format esm keeps the glue's `new URL('vitrina_core_bg.wasm', import.meta.url)` untouched:
    // at run time it resolves next to vitrina-core.js, where wasm-opt put the wasm.
    // Code splitting turns the panel's `import('./panel-dialog.js')` into a chunk next to it.
    const r = await esbuild.build({
      ...common, ...(dev ? {} : { mangleProps: INTERNAL_PROPS }),
      entryPoints: { 'vitrina-core': paths.coreSrc }, outdir: paths.dist, format: 'esm',
      splitting: true, entryNames: '[name]', chunkNames: '[name]', metafile: true, absWorkingDir: ROOT,
    });
    // Exactly these files: code shared by the module and a chunk would make
    // another, fetched before the module can run (the chunks import nothing).
    const want = [paths.distCore, paths.distPanel, paths.distMessages].map((f) => rel(f)).sort();
    const got = Object.keys(r.metafile.outputs).filter((f) => f.endsWith('.js')).map((f) => rel(path.resolve(ROOT, f))).sort();
    if (want.join() !== got.join()) throw new Error(`expected ${want.join(', ')}; got ${got.join(', ')}`);
  } catch (e) {
    throw new UserError(`esbuild failed: ${e.message}`);
  }
  if (!dev) await terse();
}

// A second minifier over esbuild's release output: terser mangles and compresses
// further (the module about 0.5 KB gzip smaller). pure_getters: reading a property
// has no side effect (true of the plain objects here); unsafe_arrows: function
// expressions that use neither `this` nor `arguments` become arrows (IIFEs only);
// booleans off and ascii_only (\u escapes, not 3-byte UTF-8): each a few bytes of
// gzip less.
export const terserOptions = (module) => ({
  ecma: 2020, module, mangle: true,
  compress: { ecma: 2020, passes: 3, pure_getters: true, unsafe_arrows: true, booleans: false },
  format: { comments: false, ascii_only: true },
});
async function terse() {
  let terser;
  try {
    terser = await import('terser');
  } catch {
    throw new UserError('terser is not installed.', 'run `npm run setup`.');
  }
  for (const [f, module] of [[paths.distLoader, false], [paths.distCore, true], [paths.distPanel, true], [paths.distMessages, true]]) {
    let out;
    try {
      out = await terser.minify(fs.readFileSync(f, 'utf8'), terserOptions(module));
    } catch (e) {
      throw new UserError(`terser failed on ${rel(f)}: ${e.message}`);
    }
    fs.writeFileSync(f, out.code);
  }
}

// The panel's texts (www/src/panel-text.js) are kept apart from src/i18n.rs:
// same languages, every key in each, the same placeholders in every translation.
async function checkPanelText() {
  const { TEXT } = await import(`${P('www', 'src', 'panel-text.js')}?${mtime(P('www', 'src', 'panel-text.js'))}`);
  const langs = /pub const LANGS: \[&str; \d+\] = \[([^\]]*)\]/.exec(fs.readFileSync(P('src', 'i18n.rs'), 'utf8'));
  const want = langs ? [...langs[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
  const bad = [];
  if (want.join() !== Object.keys(TEXT).join()) bad.push(`languages ${Object.keys(TEXT)} instead of src/i18n.rs LANGS ${want}`);
  const ph = (s) => (s.match(/\{[a-z]\}/g) || []).sort().join();
  for (const lang of Object.keys(TEXT)) {
    for (const k of new Set([...Object.keys(TEXT.en), ...Object.keys(TEXT[lang])])) {
      if (typeof TEXT[lang][k] !== 'string' || typeof TEXT.en[k] !== 'string') bad.push(`"${k}" missing in ${lang} or en`);
      else if (ph(TEXT[lang][k]) !== ph(TEXT.en[k])) bad.push(`"${k}" in ${lang}: placeholders differ from en`);
    }
  }
  if (bad.length) throw new UserError(`www/src/panel-text.js: ${bad.join('; ')}`);
  await checkTextNumbers();
}

// render.js names the wasm's texts by their number in src/i18n.rs (the order
// of its EN table): each name must be the key at its number (LIKE_N for "like-n").
async function checkTextNumbers() {
  const rs = fs.readFileSync(P('src', 'i18n.rs'), 'utf8');
  const en = /const EN: &\[\(&str, &str\)\] = &\[([\s\S]*?)\n\];/.exec(rs);
  const keys = en ? [...en[1].matchAll(/^\s*\("([^"]+)",/gm)].map((m) => m[1]) : [];
  const js = fs.readFileSync(P('www', 'src', 'render.js'), 'utf8');
  const named = [...js.matchAll(/^export const ([A-Z_]+) = (\d+);$/gm)];
  const bad = [];
  if (keys.length < 20 || named.length < 10) bad.push(`found ${keys.length} keys in src/i18n.rs EN, ${named.length} numbers in render.js`);
  for (const [, name, n] of named) {
    const k = keys[+n];
    if (!k || k.toUpperCase().replace(/-/g, '_') !== name) bad.push(`${name} = ${n} is "${k}" in src/i18n.rs`);
  }
  if (bad.length) throw new UserError(`www/src/render.js: ${bad.join('; ')}`);
}

const NPM_JS = ['api.js', 'capture.js', 'messages.js', 'panel.js', 'panel-dialog.js', 'panel-text.js', 'render.js', 'storage.js', 'text.js', `${OUT_NAME}.js`];
function npmFiles() {
  fs.mkdirSync(paths.npmDist, { recursive: true });
  // What wasm-bindgen wrote here before the glue was written by hand.
  fs.rmSync(path.join(paths.npmDist, `${OUT_NAME}.d.ts`), { force: true });
  for (const v of VARIANTS) fs.copyFileSync(distWasm(v), path.join(paths.npmDist, path.basename(distWasm(v))));
  // The shared JS face (www/src/*.js but the script-tag entry points), with the
  // glue, ships as-is in the npm package: a new module must be listed here and in
  // www/npm/package.json "files", or the package's imports break.
  const files = JSON.parse(fs.readFileSync(P('www', 'npm', 'package.json'), 'utf8')).files || [];
  for (const f of fs.readdirSync(P('www', 'src'))) {
    if (!f.endsWith('.js') || f === 'loader.js' || f === 'core.js') continue;
    if (!NPM_JS.includes(f) || !files.includes('dist/' + f)) throw new UserError(`www/src/${f} is not in the npm package.`, 'add it to NPM_JS in scripts/build.mjs and to "files" in www/npm/package.json.');
  }
  for (const f of NPM_JS) fs.copyFileSync(P('www', 'src', f), path.join(paths.npmDist, f));
}

// ---------------------------------------------------------------- main

export async function build({ dev = false, force = false } = {}) {
  const t0 = Date.now();
  const profile = dev ? 'dev' : 'release';
  // this file too: its minify options shape the output
  const jsInputs = () => Math.max(newestMtime([P('www', 'src')]), mtime(P('scripts', 'build.mjs')));
  const npmOut = VARIANTS.map((v) => path.join(paths.npmDist, path.basename(distWasm(v))));
  for (const f of NPM_JS) npmOut.push(path.join(paths.npmDist, f));

  for (const v of VARIANTS) {
    await step(`wasm ${v} (${profile})`, { key: `${profile}:${v}`, outputs: [rawWasm(dev, v)], inputs: rustInputs(), force }, () => cargoBuild(dev, v));
    await step(`wasm-opt ${v}${dev ? ' (dev: a copy)' : ' -Oz'}`, {
      id: `dist wasm ${v}`,
      // this file too: the wasm-opt passes are written here
      key: `${profile}:${mtime(rawWasm(dev, v))}`, outputs: [distWasm(v)], inputs: Math.max(mtime(rawWasm(dev, v)), mtime(P('scripts', 'build.mjs'))), force,
    }, () => wasmOpt(dev, v));
  }
  await step(`esbuild (${profile})`, {
    id: 'esbuild',
    key: profile, outputs: [paths.distLoader, paths.distCore, paths.distPanel, paths.distMessages], inputs: jsInputs(), force,
  }, () => esbuildJs(dev));
  // The demo shop's pages, from one layout (www/demo/pages; fast, writes only what changed).
  const pages = writePages();
  if (pages.length) log.info(`demo pages written: ${pages.join(', ')}`);
  if (fs.existsSync(paths.npmDir)) {
    await step('npm package files', {
      key: `${profile}:${mtime(paths.distWasm)}:${mtime(paths.distWasmFull)}`, outputs: npmOut,
      inputs: Math.max(mtime(paths.distWasm), mtime(paths.distWasmFull), jsInputs()), force,
    }, () => npmFiles());
  }

  const rows = [['file', 'raw', 'gzip']];
  for (const f of [paths.distLoader, paths.distCore, paths.distWasm, paths.distWasmFull, paths.distPanel, paths.distMessages]) {
    const buf = fs.readFileSync(f);
    rows.push([rel(f), fmtBytes(buf.length), fmtBytes(zlib.gzipSync(buf, { level: 9 }).length)]);
  }
  console.log(table(rows, new Set([1, 2])).replace(/^/gm, '[build]   '));
  log.info(`done: ${profile} build in ${fmtSecs(Date.now() - t0)}${dev ? ' (dev: unoptimized, not for size checks)' : ''}`);
  return 0;
}

if (process.argv[1]?.endsWith('scripts/build.mjs')) {
  main('build', () => build({ dev: process.argv.includes('--dev'), force: process.argv.includes('--force') }));
}
