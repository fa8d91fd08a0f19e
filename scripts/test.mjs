#!/usr/bin/env node
// npm test: setup -> release build -> every suite, then a summary table.
// Suites: rust (cargo test --workspace), wasm (wasm-bindgen-test in headless Chromium),
//         size (budget), e2e (node --test tests/e2e/ tests/packaging/ against the release server).
// Last line: `N passed, N failed` (one per suite). Exit 1 if any suite fails.
// Options: --only rust,wasm,size,e2e   run a subset
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, UserError, fmtSecs, main, run, table } from './lib.mjs';
import { setup } from './setup.mjs';
import { build } from './build.mjs';
import { buildServer } from './start.mjs';

/** Sum "test result: ... N passed; M failed" lines (cargo / wasm-bindgen-test-runner). */
function cargoCounts(output) {
  let passed = 0, failed = 0, seen = false;
  for (const m of output.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    seen = true;
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  return seen ? { passed, failed } : null;
}

/** node --test spec reporter: "ℹ pass N" / "ℹ fail N" (tap: "# pass N"). */
function nodeCounts(output) {
  const pass = /^(?:ℹ|#) pass (\d+)/m.exec(output);
  const fail = /^(?:ℹ|#) fail (\d+)/m.exec(output);
  return pass ? { passed: Number(pass[1]), failed: Number(fail?.[1] ?? 0) } : null;
}

const SUITES = [
  {
    id: 'rust',
    title: 'rust (native): cargo test --workspace, and the core as the default wasm is built (--no-default-features)',
    async run() {
      const res = await run('cargo', ['test', '--workspace'], { tee: true });
      if (res.code !== 0) return { ok: false, counts: cargoCounts(res.output), ms: res.ms };
      const lean = await run('cargo', ['test', '-p', 'vitrina', '--lib', '--no-default-features'], { tee: true });
      const [a, b] = [cargoCounts(res.output), cargoCounts(lean.output)];
      const counts = a && b ? { passed: a.passed + b.passed, failed: a.failed + b.failed } : a || b;
      return { ok: lean.code === 0, counts, ms: res.ms + lean.ms };
    },
  },
  {
    id: 'wasm',
    title: 'wasm (headless chromium): cargo test -p vitrina --lib --target wasm32-unknown-unknown',
    async run() {
      const res = await run('cargo', ['test', '-p', 'vitrina', '--lib', '--target', 'wasm32-unknown-unknown'], {
        tee: true,
        env: { CHROMEDRIVER: '/usr/bin/chromedriver', WASM_BINDGEN_TEST_TIMEOUT: '120' },
      });
      const counts = cargoCounts(res.output);
      let ok = res.code === 0;
      let note;
      if (counts && counts.passed + counts.failed > 0 && !/Running headless tests in \w+/.test(res.output)) {
        ok = false;
        note = 'did not run in the browser: add wasm_bindgen_test_configure!(run_in_browser)';
      } else if (ok && (!counts || counts.passed + counts.failed === 0)) {
        note = 'no wasm tests';
      }
      return { ok, counts, ms: res.ms, note };
    },
  },
  {
    id: 'size',
    title: 'size budget: npm run size',
    async run() {
      const res = await run(process.execPath, [path.join(ROOT, 'scripts', 'size.mjs')], { tee: true });
      return { ok: res.code === 0, counts: null, ms: res.ms };
    },
  },
  {
    id: 'e2e',
    title: 'browser e2e, packaging, JS decoder: node --test tests/e2e/ tests/packaging/ tests/decoder/',
    async run() {
      const t0 = Date.now();
      try {
        await buildServer();
      } catch (e) {
        console.error(`[test] ${e.message}`);
        return { ok: false, counts: null, ms: Date.now() - t0, note: 'server build failed' };
      }
      const dirs = ['tests/e2e', 'tests/packaging', 'tests/decoder'].filter((d) => fs.existsSync(path.join(ROOT, d)));
      if (!dirs.length) return { ok: false, counts: null, ms: Date.now() - t0, note: 'no tests/e2e or tests/packaging' };
      const res = await run(process.execPath, [
        '--test', '--test-concurrency=1', '--test-reporter=spec', ...dirs.map((d) => `${d}/`),
      ], { tee: true, env: { FORCE_COLOR: '0' } });
      const counts = nodeCounts(res.output);
      const none = counts && counts.passed + counts.failed === 0;
      return { ok: res.code === 0 && !none, counts, ms: Date.now() - t0, note: none ? 'no tests found' : undefined };
    },
  },
];

function header(text) {
  const line = '─'.repeat(Math.min(100, Math.max(60, text.length + 4)));
  console.log(`\n${line}\n▶ ${text}\n${line}`);
}

async function test() {
  const t0 = Date.now();
  const onlyArg = process.argv.find((a) => a.startsWith('--only'));
  const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : process.argv[process.argv.indexOf(onlyArg) + 1]).split(',') : null;
  const suites = only ? SUITES.filter((s) => only.includes(s.id)) : SUITES;
  if (only && suites.length !== only.length) throw new UserError(`unknown suite in --only ${only.join(',')}; known: ${SUITES.map((s) => s.id).join(', ')}`);

  header('setup + release build');
  try {
    if ((await setup()) !== 0) throw new UserError('setup is incomplete.');
    await build();
  } catch (e) {
    console.error(`[test] error: ${e.message}${e.hint ? `\n[test] → ${e.hint}` : ''}`);
    console.log('\n[test] setup/build failed: no suite was run.');
    console.log('0 passed, 1 failed');
    return 1;
  }

  const results = [];
  for (const s of suites) {
    header(s.title);
    let r;
    try {
      r = await s.run();
    } catch (e) {
      console.error(`[test] error: ${e.message}`);
      r = { ok: false, counts: null, ms: 0, note: e.message.split('\n')[0] };
    }
    results.push({ ...r, id: s.id });
  }

  header(`summary (${fmtSecs(Date.now() - t0)})`);
  const rows = [['suite', 'result', 'tests', 'time']];
  for (const r of results) {
    const tests = r.counts ? `${r.counts.passed} passed, ${r.counts.failed} failed` : '-';
    rows.push([r.id, r.ok ? 'passed' : 'FAILED', tests + (r.note ? ` (${r.note})` : ''), fmtSecs(r.ms)]);
  }
  console.log(table(rows, new Set([3])));
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (process.argv[1]?.endsWith('scripts/test.mjs')) {
  main('test', test);
}
