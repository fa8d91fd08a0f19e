// Packaging: the npm package (www/npm) works for a bundler user.
//  1. `npm pack www/npm` (after `npm run build`, which fills www/npm/dist)
//  2. a tiny Vite app depending on the tarball: `vite build`, serve dist/, open in chromium,
//     wait for data-ready="yes", no page errors, the wasm served as application/wasm
//  3. a TypeScript variant type-checked with `tsc --noEmit` (types resolve via the exports map)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, assertNoPageErrors, launchBrowser, newPage, screenshot, serveStatic } from '../e2e/harness.mjs';

const exec = promisify(execFile);
const NPM_DIR = path.join(ROOT, 'www', 'npm');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const versionOf = (pkg) => JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;

let tmp;
let app;
let tarball;

async function sh(cmd, args, opts = {}) {
  try {
    return await exec(cmd, args, { maxBuffer: 32 << 20, ...opts, env: { ...process.env, NO_COLOR: '1', ...opts.env } });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${e.code}):\n${e.stdout}\n${e.stderr}`);
  }
}

before(async () => {
  assert.ok(fs.existsSync(path.join(NPM_DIR, 'package.json')), 'www/npm/package.json is missing');
  assert.ok(fs.existsSync(path.join(NPM_DIR, 'dist', 'vitrina_core_bg.wasm')),
    'www/npm/dist/ is not built: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitrina-pkg-'));

  // 1. pack
  const { stdout } = await sh('npm', ['pack', NPM_DIR, '--pack-destination', tmp, '--json', '--silent']);
  const info = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  tarball = path.join(tmp, info.filename);
  assert.ok(fs.existsSync(tarball), `npm pack did not produce ${tarball}`);
  const files = info.files.map((f) => f.path);
  for (const f of ['package.json', 'index.js', 'index.d.ts', 'dist/vitrina_core.js', 'dist/vitrina_core_bg.wasm']) {
    assert.ok(files.includes(f), `the package lacks ${f} (has: ${files.join(', ')})`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(NPM_DIR, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'vitrina', 'www/npm/package.json: name must be "vitrina"');
  const types = pkg.exports?.['.']?.types;
  assert.ok(types, 'www/npm/package.json: exports["."].types is missing');
  assert.ok(files.includes(types.replace(/^\.\//, '')), `exports["."].types points at ${types}, which is not in the package`);

  // 2. a tiny Vite app using it
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
    name: 'vitrina-pkg-test-app', private: true, type: 'module',
    dependencies: { vitrina: `file:${tarball}` },
    devDependencies: { vite: versionOf('vite') },
  }, null, 2));
  fs.writeFileSync(path.join(app, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>pkg test</title></head>' +
    '<body><h1>pkg test</h1><script type="module" src="/main.js"></script></body></html>\n');
  fs.writeFileSync(path.join(app, 'main.js'), [
    "import { init } from 'vitrina';",
    "const v = await init({ site: 'pkg-test', endpoint: '/collect' });",
    "v.track('page');",
    "// The real widget, not the no-op fallback: the wasm ran and kept the view.",
    "const ok = v.ready && v.view({ item: 'SKU-1', name: 'Pkg Shoe', price: 10 });",
    "const recent = (v.profile() || { recent: [] }).recent;",
    "document.body.dataset.ready = ok && recent.length === 1 && recent[0].name === 'Pkg Shoe' ? 'yes' : 'no: ' + JSON.stringify({ ready: v.ready, recent });",
    '',
  ].join('\n'));
  // vite comes from the npm cache the repo's own install filled (--prefer-offline): no download when warm.
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
});

after(async () => {
  if (tmp && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

test('vite build of an app importing the package runs in chromium', async () => {
  await sh(path.join(app, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: app });
  const dist = path.join(app, 'dist');
  const emitted = fs.readdirSync(path.join(dist, 'assets'));
  assert.ok(emitted.some((f) => f.endsWith('.wasm')), `vite emitted no .wasm asset (assets: ${emitted.join(', ')})`);

  const server = await serveStatic(dist, {
    routes: { '/collect': (req, res) => res.writeHead(204).end() },
  });
  const browser = await launchBrowser();
  try {
    const page = await newPage(browser);
    const wasmResponses = [];
    page.on('response', (r) => { if (r.url().endsWith('.wasm')) wasmResponses.push(r); });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'yes', null, { timeout: 20000 })
      .catch(async (e) => {
        const shot = await screenshot(page, 'packaging-vite-not-ready');
        throw new Error(`data-ready never became "yes" (screenshot: ${shot}); page errors: ` +
          `${page.pageErrors.map((x) => x.message).join('; ') || 'none'}; console: ` +
          `${page.consoleMessages.map((m) => `${m.type}: ${m.text}`).join(' | ') || 'none'}\n${e.message}`);
      });
    assert.equal(await page.evaluate(() => document.body.dataset.ready), 'yes');
    assert.ok(wasmResponses.length >= 1, 'the page never fetched the .wasm');
    assert.equal(wasmResponses[0].headers()['content-type'], 'application/wasm');
    assertNoPageErrors(page);
    await screenshot(page, 'packaging-vite');
  } finally {
    await browser.close();
    await server.close();
  }
});

test('TypeScript: the package types resolve through the exports map (tsc --noEmit)', async () => {
  fs.writeFileSync(path.join(app, 'main.ts'), [
    "import { init } from 'vitrina';",
    "import type * as Vitrina from 'vitrina';",
    '',
    '// Fails to compile if the types resolved to `any` (e.g. no types found).',
    'type IsAny<T> = 0 extends 1 & T ? true : false;',
    'const initIsTyped: IsAny<typeof init> = false;',
    '',
    "const v = await init({ site: 'pkg-test', endpoint: '/collect' });",
    "v.track('page');",
    'const typed: Awaited<ReturnType<typeof Vitrina.init>> = v;',
    "document.body.dataset.ready = 'yes';",
    'export { initIsTyped, typed };',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'],
      strict: true, noEmit: true, skipLibCheck: false, types: [],
    },
    files: ['main.ts'],
  }, null, 2));
  await sh(path.join(BIN, 'tsc'), ['-p', path.join(app, 'tsconfig.json'), '--noEmit'], { cwd: app });
});
