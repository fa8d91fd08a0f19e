#!/usr/bin/env node
// Writes the demo shop's pages (www/demo/*.html) from one layout and each page's own part,
// so the header, footer and script tags exist once:
//
//   www/demo/pages/_layout.html   the page around {{main}}, with {{title}}, {{description}}, {{page}}
//   www/demo/pages/NAME.html      "title: ...", "description: ...", "page: ..." lines, "---",
//                                 then the page's <main> element
//
//   node www/demo/tools/pages.mjs      (npm run build does it; the outputs are not in git)
//
// Values are inserted as written (they are HTML already). Unknown or missing fields are
// errors, so a typo cannot ship an empty title.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DEMO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(DEMO, 'pages');
const FIELDS = ['title', 'description', 'page'];

/** One page from its source text, or an Error naming what is wrong. */
export function renderPage(layout, source, name) {
  const cut = source.indexOf('\n---\n');
  if (cut < 0) throw new Error(`${name}: no "---" line between the fields and the page's <main>`);
  const values = { main: source.slice(cut + 5) };
  for (const line of source.slice(0, cut).split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (!m || !FIELDS.includes(m[1])) throw new Error(`${name}: unexpected line ${JSON.stringify(line)} (fields: ${FIELDS.join(', ')})`);
    values[m[1]] = m[2];
  }
  for (const f of FIELDS) if (!values[f]) throw new Error(`${name}: missing "${f}:" line`);
  return layout.replace(/\{\{(\w+)\}\}/g, (all, k) => {
    if (!(k in values)) throw new Error(`_layout.html: unknown placeholder ${all}`);
    return values[k];
  });
}

/** Writes every page whose output differs; returns the names written. */
export function writePages() {
  const layout = fs.readFileSync(path.join(SRC, '_layout.html'), 'utf8');
  const written = [];
  for (const name of fs.readdirSync(SRC).filter((n) => n.endsWith('.html') && !n.startsWith('_')).sort()) {
    const html = renderPage(layout, fs.readFileSync(path.join(SRC, name), 'utf8'), name);
    const out = path.join(DEMO, name);
    if (fs.existsSync(out) && fs.readFileSync(out, 'utf8') === html) continue;
    fs.writeFileSync(out, html);
    written.push(name);
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const w = writePages();
    console.log(w.length ? `demo pages written: ${w.join(', ')}` : 'demo pages up to date');
  } catch (e) {
    console.error(`demo pages: ${e.message}`);
    process.exit(1);
  }
}
