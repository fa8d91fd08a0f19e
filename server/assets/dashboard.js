// Vitrina shop dashboard. Signs in with the admin token (kept in sessionStorage),
// fetches /v1/dashboard and /v1/stats with `Authorization: Bearer`, and draws every
// chart as inline SVG. No libraries, nothing from other origins, no inline styles.
// Item ids, categories and search words come from shoppers' browsers: they are only
// ever set with textContent, never parsed as HTML.
'use strict';
(function () {
  const TOKEN_KEY = 'vitrina:admin-token';
  const RANGE_KEY = 'vitrina:dashboard-range';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const REFRESH_MS = 30000;
  const RANGES = { '24h': 'last 24 hours', '7d': 'last 7 days', '30d': 'last 30 days' };
  // Stacking order of the activity chart (bottom first): [kind, css class, label].
  const KINDS = [
    ['view', 'view', 'Product views'],
    ['cart-add', 'cart-add', 'Cart adds'],
    ['purchase', 'purchase', 'Orders'],
    ['like', 'like', 'Likes'],
    ['search', 'search', 'Searches'],
    ['rec-click', 'rec-click', 'Recommendation clicks'],
    ['impression', 'impression', 'Recommendations shown'],
    ['page', 'page', 'Page views'],
  ];
  const KNOWN = new Set(KINDS.map((k) => k[0]));

  const $ = (sel) => document.querySelector(sel);
  const nf = new Intl.NumberFormat();
  const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
  const pctf = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

  let range = read(RANGE_KEY) in RANGES ? read(RANGE_KEY) : '24h';
  let last = null; // [dashboard, stats] of the last successful load
  let seq = 0;
  let timer = 0;

  // --- small helpers -------------------------------------------------------

  function read(key) {
    try { return sessionStorage.getItem(key); } catch (_) { return null; }
  }
  function write(key, value) {
    try {
      if (value == null) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, value);
    } catch (_) { /* storage blocked: the token lives until the page closes */ }
  }
  let memoryToken = null;
  const token = () => read(TOKEN_KEY) || memoryToken;

  /** An HTML element with a class and text. */
  function h(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  /** An SVG element with attributes. */
  function s(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text != null) e.textContent = String(text);
    return e;
  }
  function append(parent, ...kids) {
    for (const k of kids) if (k) parent.appendChild(k);
    return parent;
  }
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const fmt = (n) => nf.format(n);
  const short = (n) => (n >= 10000 ? compact.format(n) : nf.format(n));
  const pct = (x) => (Number.isFinite(x) ? pctf.format(x) : '–');
  function money(hundredths, currency) {
    const v = hundredths / 100;
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: v >= 1000 ? 0 : 2 }).format(v);
    } catch (_) {
      return nf.format(v) + (currency ? ' ' + currency : '');
    }
  }
  /** A round axis for values up to v: a step of 1, 2, 2.5 or 5 times a power of ten, 3 to 5 steps. */
  function niceAxis(v) {
    if (v <= 4) return { max: 4, step: 1 };
    const raw = v / 5;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = 10 * p;
    for (const m of [1, 2, 2.5, 5]) if (m * p >= raw) { step = m * p; break; }
    return { max: Math.ceil(v / step) * step, step };
  }
  function empty(box, text) {
    box.replaceChildren(h('p', 'empty', text));
  }
  function bucketLabel(d, i, long) {
    const t = new Date(d.from + i * d.bucket_ms);
    if (d.bucket_ms < 86400000) {
      const hm = t.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      return long ? t.toLocaleDateString(undefined, { weekday: 'short' }) + ' ' + hm : hm;
    }
    return t.toLocaleDateString(undefined, long ? { weekday: 'short', month: 'short', day: 'numeric' } : { month: 'short', day: 'numeric' });
  }

  // --- network ---------------------------------------------------------------

  async function getJson(path) {
    const r = await fetch(path, { headers: { Authorization: 'Bearer ' + token() }, cache: 'no-store', credentials: 'omit' });
    if (!r.ok) {
      let msg = r.status + ' ' + r.statusText;
      try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
      const e = new Error(msg);
      e.status = r.status;
      throw e;
    }
    return r.json();
  }

  async function load() {
    if (!token()) return;
    const mine = ++seq;
    const tz = new Date().getTimezoneOffset();
    let d, st;
    try {
      [d, st] = await Promise.all([
        getJson('/v1/dashboard?range=' + encodeURIComponent(range) + '&tz=' + tz),
        getJson('/v1/stats'),
      ]);
    } catch (e) {
      if (mine !== seq) return;
      if (e.status === 401) return signOut('That token was not accepted: check it against the one the server printed.');
      banner('Could not load the dashboard (' + e.message + '). Retrying every 30 seconds.');
      return;
    }
    if (mine !== seq) return;
    banner(null);
    last = [d, st];
    render(d, st);
    $('.updated').textContent = 'Updated ' + new Date().toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function banner(text) {
    const b = $('.banner');
    b.hidden = !text;
    b.textContent = text || '';
  }

  // --- screens ---------------------------------------------------------------

  function showSignIn(message) {
    $('#app').hidden = true;
    $('.ranges').hidden = true;
    $('.signout').hidden = true;
    $('.updated').textContent = '';
    $('#signin').hidden = false;
    $('.signin-error').textContent = message || '';
    const input = $('#token');
    input.value = '';
    input.focus();
  }

  function showApp() {
    $('#signin').hidden = true;
    $('#app').hidden = false;
    $('.ranges').hidden = false;
    $('.signout').hidden = false;
    for (const b of document.querySelectorAll('.ranges button')) b.setAttribute('aria-pressed', String(b.dataset.range === range));
  }

  function signOut(message) {
    write(TOKEN_KEY, null);
    memoryToken = null;
    last = null;
    seq++;
    showSignIn(message);
  }

  // --- render ----------------------------------------------------------------

  function render(d, st) {
    for (const n of document.querySelectorAll('.range-note')) {
      n.textContent = (n.dataset.what || (n.dataset.what = n.textContent)) + ', ' + RANGES[d.range];
    }
    kpis(d);
    activity(d);
    funnel(d);
    slots(d);
    liked(d);
    trending(d);
    bestsellers(d);
    barList($('#viewed'), d.top_viewed.map((r) => ({ name: r.item, value: r.views })), 'No product views in the ' + RANGES[d.range] + '.');
    barList($('#searches'), d.top_searches.map((r) => ({ name: r.term, value: r.searches })), 'No searches in the ' + RANGES[d.range] + '.');
    delivery(d, st);
    honesty(d);
  }

  function kpi(name, value, note) {
    const box = document.querySelector('.kpi[data-kpi="' + name + '"]');
    box.querySelector('.kpi-value').textContent = value;
    const n = box.querySelector('.kpi-note');
    if (n) n.textContent = note || '';
    return box;
  }

  function kpis(d) {
    const k = d.kpis;
    kpi('shoppers', fmt(k.shoppers), 'distinct client ids');
    kpi('sessions', fmt(k.sessions), k.shoppers ? nf1.format(k.sessions / k.shoppers) + ' per shopper' : '');
    spark(kpi('views', fmt(d.kinds.view || 0)), d.series.view);
    spark(kpi('carts', fmt(d.kinds['cart-add'] || 0)), d.series['cart-add']);
    spark(kpi('orders', fmt(k.orders)), d.series.purchase);
    const r = k.revenue[0];
    if (!r) kpi('revenue', '–', 'no orders yet');
    else {
      const more = k.revenue.length > 1 ? ' · +' + (k.revenue.length - 1) + ' currencies' : '';
      kpi('revenue', money(r.total, r.currency), 'avg order ' + money(r.total / Math.max(1, r.orders), r.currency) + more);
    }
  }

  function spark(box, values) {
    const host = box.querySelector('.kpi-spark');
    const v = values || [];
    if (!v.length || !sum(v)) return host.replaceChildren();
    const W = 100, H = 26, max = Math.max(...v);
    const x = (i) => (v.length === 1 ? W / 2 : (i / (v.length - 1)) * W);
    const y = (n) => H - 2 - (n / max) * (H - 4);
    const pts = v.map((n, i) => x(i).toFixed(2) + ',' + y(n).toFixed(2));
    const svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    append(svg,
      s('polygon', { class: 'spark-area', points: '0,' + H + ' ' + pts.join(' ') + ' ' + W + ',' + H }),
      s('polyline', { class: 'spark-line', points: pts.join(' '), 'vector-effect': 'non-scaling-stroke' }));
    host.replaceChildren(svg);
  }

  function activity(d) {
    const box = $('#activity');
    const n = d.buckets;
    const zeros = new Array(n).fill(0);
    const groups = KINDS.map(([k, cls, label]) => ({ cls, label, vals: d.series[k] || zeros }));
    const other = zeros.slice();
    for (const k in d.series) if (!KNOWN.has(k)) d.series[k].forEach((v, i) => { other[i] += v; });
    groups.push({ cls: 'other', label: 'Other', vals: other });
    const totals = zeros.map((_, i) => sum(groups.map((g) => g.vals[i])));
    const readout = $('#activity-readout');
    const idle = 'Events received per ' + (d.bucket_ms < 86400000 ? 'hour' : 'day') + ', ' + RANGES[d.range] + ': ' + fmt(sum(totals));
    readout.textContent = idle;

    const legend = $('#activity-legend');
    legend.replaceChildren();
    for (const g of groups) {
      const t = sum(g.vals);
      if (!t) continue;
      const li = append(h('li'), h('span', 'chip k-' + g.cls), document.createTextNode(g.label + ' '), h('b', null, short(t)));
      legend.appendChild(li);
    }
    if (!sum(totals)) {
      box.replaceChildren(h('p', 'empty', 'No events in the ' + RANGES[d.range] + '. Browse the demo shop, or send batches to /v1/collect.'));
      return;
    }

    const W = Math.max(320, box.clientWidth || 900), H = 250;
    const m = { l: 46, r: 6, t: 10, b: 28 };
    const iw = W - m.l - m.r, ih = H - m.t - m.b;
    const { max, step } = niceAxis(Math.max(...totals));
    const y = (v) => m.t + ih - (v / max) * ih;
    const svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': idle });
    for (let t = 0; t * step <= max; t++) {
      const v = t * step, yy = Math.round(y(v)) + 0.5;
      append(svg, s('line', { class: t ? 'gridline' : 'axis', x1: m.l, x2: W - m.r, y1: yy, y2: yy }),
        s('text', { x: m.l - 8, y: yy + 4, 'text-anchor': 'end' }, short(v)));
    }
    const bw = iw / n, gap = Math.min(10, Math.max(1, bw * 0.22));
    // A label every `every` bars: room for about 70 px per label, at a round interval.
    const fit = Math.ceil(n / Math.max(1, Math.floor(iw / 70)));
    const steps = d.bucket_ms < 86400000 ? [1, 2, 3, 4, 6, 8, 12, 24] : [1, 2, 3, 5, 7, 10, 15, 30];
    const every = steps.find((x) => x >= fit) || n;
    for (let i = 0; i < n; i++) {
      const x0 = m.l + i * bw;
      const col = s('g', { class: 'col' });
      col.appendChild(s('rect', { class: 'hover', x: x0, y: m.t, width: bw, height: ih }));
      let acc = 0;
      for (const g of groups) {
        const v = g.vals[i];
        if (!v) continue;
        const y1 = y(acc + v), y0 = y(acc);
        col.appendChild(s('rect', { class: 'k-' + g.cls, x: x0 + gap / 2, y: y1, width: Math.max(1, bw - gap), height: Math.max(0.5, y0 - y1) }));
        acc += v;
      }
      const parts = groups.filter((g) => g.vals[i]).map((g) => fmt(g.vals[i]) + ' ' + g.label.toLowerCase());
      const text = bucketLabel(d, i, true) + (i === n - 1 ? ' (so far)' : '') + ' · ' + (parts.length ? parts.join(' · ') : 'no events');
      col.addEventListener('mouseenter', () => { readout.textContent = text; });
      col.addEventListener('mouseleave', () => { readout.textContent = idle; });
      col.appendChild(s('title', {}, text));
      svg.appendChild(col);
      if (i % every === 0) {
        svg.appendChild(s('text', { x: x0 + bw / 2, y: H - 8, 'text-anchor': 'middle' }, bucketLabel(d, i, false)));
      }
    }
    box.replaceChildren(svg);
  }

  /** Ranked rows with a thin bar: [{name, sub?, value, label?, badge?, badgeClass?}]. */
  function barList(box, rows, emptyText) {
    if (!rows.length) return empty(box, emptyText);
    const max = Math.max(...rows.map((r) => r.value), 1);
    const ul = h('ul', 'bars');
    for (const r of rows) {
      const name = h('span', 'name', r.name);
      name.title = r.name + (r.sub ? ' · ' + r.sub : '');
      if (r.sub) name.appendChild(h('small', null, r.sub));
      const num = h('span', 'num', r.label || fmt(r.value));
      if (r.badge) num.appendChild(append(h('small'), h('span', 'badge ' + (r.badgeClass || ''), r.badge)));
      const bar = s('svg', { viewBox: '0 0 100 6', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
      append(bar, s('rect', { class: 'track', x: 0, y: 0, width: 100, height: 6 }),
        s('rect', { class: 'fill', x: 0, y: 0, width: Math.max(1, (r.value / max) * 100).toFixed(2), height: 6 }));
      ul.appendChild(append(h('li'), name, num, bar));
    }
    box.replaceChildren(ul);
  }

  function liked(d) {
    barList($('#liked'), d.top_liked.map((r) => ({ name: r.item, sub: r.category, value: r.likes })),
      'No likes yet. Likes count once per shopper; a later unlike takes it back.');
  }

  function trending(d) {
    const rule = 'Nothing is trending. An item trends when its views, cart adds and orders of the last 24 hours reach ' +
      d.honesty.trending_min_score + '× its daily average of the 6 days before (at least ' + Math.max(10, d.honesty.min_count) + ').';
    const box = $('#trending');
    barList(box, d.trending.map((r) => ({
      name: r.item, sub: r.category, value: r.last_24h,
      label: fmt(r.last_24h) + ' in 24 h', badge: '×' + nf1.format(r.score), badgeClass: 'up',
    })), rule);
    if (d.trending.length) {
      box.appendChild(h('p', 'footnote', '×N: views, cart adds and orders of the last 24 hours against the daily average of the 6 days before. ' +
        'An item trends from ×' + d.honesty.trending_min_score + ' with at least ' + Math.max(10, d.honesty.min_count) + ' of them.'));
    }
  }

  function bestsellers(d) {
    const box = $('#bestsellers');
    if (!d.bestsellers.length) {
      return empty(box, 'No bestsellers yet: an item needs at least ' + d.honesty.min_count + ' orders in 7 days to rank.');
    }
    const wrap = h('div', 'best');
    for (const c of d.bestsellers) {
      const ol = h('ol');
      for (const it of c.items) {
        const li = append(h('li'), h('span', 'medal r' + it.rank, it.rank), h('span', 'item', it.item),
          h('span', 'n', fmt(it.orders_7d) + (it.orders_7d === 1 ? ' order' : ' orders')));
        li.querySelector('.item').title = it.item;
        ol.appendChild(li);
      }
      wrap.appendChild(append(h('section'), h('h3', null, c.category), ol));
    }
    box.replaceChildren(wrap);
  }

  function funnel(d) {
    const box = $('#funnel');
    const labels = { view: ['Viewed a product', 'product views'], 'cart-add': ['Added to cart', 'cart adds'], purchase: ['Ordered', 'orders'] };
    const steps = d.funnel;
    const top = steps[0].shoppers;
    if (!sum(steps.map((x) => x.shoppers))) return empty(box, 'No product views, cart adds or orders in the ' + RANGES[d.range] + '.');
    const max = Math.max(...steps.map((x) => x.shoppers), 1);
    const wrap = h('div', 'funnel');
    steps.forEach((st, i) => {
      if (i > 0) {
        const prev = steps[i - 1].shoppers;
        const conv = append(h('div', 'conv'), document.createTextNode('↓ '), h('b', null, prev ? pct(st.shoppers / prev) : '–'),
          document.createTextNode(i === 1 ? ' of them added to cart' : ' of them ordered'));
        wrap.appendChild(conv);
      }
      const [label, unit] = labels[st.step];
      const w = Math.max(1.5, (st.shoppers / max) * 100);
      const bar = s('svg', { viewBox: '0 0 100 30', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
      append(bar, s('rect', { class: 'track', x: 0, y: 0, width: 100, height: 30, fill: '#f1f3f7' }),
        s('rect', { class: 'k-' + st.step, x: ((100 - w) / 2).toFixed(2), y: 0, width: w.toFixed(2), height: 30 }));
      const lab = append(h('div', 'label', label), h('small', null, fmt(st.events) + ' ' + unit));
      const num = append(h('div', 'num', fmt(st.shoppers)), h('small', null, 'shoppers'));
      wrap.appendChild(append(h('div', 'step'), lab, bar, num));
    });
    const buyers = steps[2].shoppers;
    const total = append(h('p', 'funnel-total'), h('b', null, top ? pct(buyers / top) : '–'),
      document.createTextNode(' of shoppers who viewed a product ordered (' + RANGES[d.range] + ').'));
    box.replaceChildren(wrap, total);
  }

  function slots(d) {
    const box = $('#slots');
    if (!d.slots.length) {
      return empty(box, 'No recommendation impressions or clicks in the ' + RANGES[d.range] +
        '. Slots report clicks as rec-click events carrying the slot name.');
    }
    const max = Math.max(...d.slots.map((x) => Math.max(x.impressions, x.clicks)), 1);
    const wrap = h('div', 'slots');
    for (const sl of d.slots) {
      const ctr = h('span', 'ctr', sl.ctr == null ? '–' : pct(sl.ctr));
      ctr.appendChild(h('small', null, 'CTR'));
      const bar = s('svg', { viewBox: '0 0 100 26', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
      append(bar, s('rect', { class: 'track', x: 0, y: 0, width: 100, height: 12, fill: '#f1f3f7' }),
        s('rect', { class: 'imp', x: 0, y: 0, width: ((sl.impressions / max) * 100).toFixed(2), height: 12 }),
        s('rect', { class: 'track', x: 0, y: 14, width: 100, height: 12, fill: '#f1f3f7' }),
        s('rect', { class: 'clk', x: 0, y: 14, width: Math.max(sl.clicks ? 0.8 : 0, (sl.clicks / max) * 100).toFixed(2), height: 12 }));
      const detail = h('span', 'detail', fmt(sl.impressions) + ' impressions · ' + fmt(sl.clicks) + ' clicks' +
        (sl.impressions ? '' : ' (this slot reports no impressions)'));
      wrap.appendChild(append(h('div', 'slot'), h('span', 'name', sl.slot), ctr, bar, detail));
    }
    box.replaceChildren(wrap);
  }

  function delivery(d, st) {
    const t = d.delivery.totals;
    const parts = [
      ['accepted', 'Stored', t.accepted],
      ['duplicates', 'Duplicates dropped', t.duplicates],
      ['rejected', 'Rejected (invalid)', t.rejected],
      ['dropped', 'Dropped on devices', t.client_dropped],
    ];
    const all = sum(parts.map((p) => p[2]));
    const barBox = $('#delivery-bar');
    const legend = $('#delivery-legend');
    legend.replaceChildren();
    if (!all) {
      empty(barBox, 'Nothing received yet.');
    } else {
      const bar = s('svg', { viewBox: '0 0 100 22', preserveAspectRatio: 'none', role: 'img', 'aria-label': 'Share of events stored, duplicate, rejected, dropped' });
      let x = 0;
      for (const [cls, , v] of parts) {
        if (!v) continue;
        const w = Math.max(0.6, (v / all) * 100);
        bar.appendChild(s('rect', { class: 'd-' + cls, x: x.toFixed(3), y: 0, width: w.toFixed(3), height: 22 }));
        x += w;
      }
      barBox.replaceChildren(bar);
      for (const [cls, label, v] of parts) {
        legend.appendChild(append(h('li'), h('span', 'chip d-' + cls), document.createTextNode(label + ' '),
          h('b', null, fmt(v)), document.createTextNode(' (' + pct(v / all) + ')')));
      }
    }

    const delays = d.delivery.delay;
    const dbox = $('#delay');
    const dsum = sum(delays.map((x) => x.events));
    if (!dsum) empty(dbox, 'No events in the ' + RANGES[d.range] + '.');
    else {
      const W = Math.max(260, dbox.clientWidth || 360), H = 150, m = { t: 18, b: 22 };
      const max = Math.max(...delays.map((x) => x.events), 1);
      const bw = W / delays.length;
      const svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': 'Delivery delay histogram' });
      svg.appendChild(s('line', { class: 'axis', x1: 0, x2: W, y1: H - m.b + 0.5, y2: H - m.b + 0.5 }));
      delays.forEach((b, i) => {
        const hgt = (b.events / max) * (H - m.t - m.b);
        const x = i * bw + bw * 0.18;
        append(svg,
          s('rect', { class: 'bar' + (i >= 3 ? ' slow' : ''), x, y: H - m.b - hgt, width: bw * 0.64, height: Math.max(b.events ? 1 : 0, hgt), rx: 3 }),
          s('text', { class: 'value-label', x: i * bw + bw / 2, y: H - m.b - hgt - 5, 'text-anchor': 'middle' }, b.events ? pct(b.events / dsum) : ''),
          s('text', { x: i * bw + bw / 2, y: H - 6, 'text-anchor': 'middle' }, b.label));
      });
      dbox.replaceChildren(svg);
    }

    const w = st.writer;
    const facts = [
      ['Batches received', fmt(t.batches)],
      ['Events per batch', t.batches ? nf1.format((t.accepted + t.duplicates) / t.batches) : '–'],
      ['Refused requests', fmt(st.since_start.refused) + ' since start', st.since_start.refused > 0],
      ['Group commits', fmt(w.commits) + (w.commits ? ' (' + nf1.format(w.batches / w.commits) + ' batches each)' : '')],
      ['Writer busy', st.uptime_s ? pct(w.busy_us / 1e6 / st.uptime_s) : '–'],
      ['Flagged clients', fmt(st.flagged_clients), st.flagged_clients > 0],
      ['Server up for', uptime(st.uptime_s)],
    ];
    const dl = $('#delivery-facts');
    dl.replaceChildren();
    for (const [k, v, alert] of facts) append(dl, h('dt', null, k), h('dd', alert ? 'alert' : null, v));
  }

  function uptime(sec) {
    if (sec < 120) return sec + ' s';
    if (sec < 7200) return Math.round(sec / 60) + ' min';
    if (sec < 172800) return nf1.format(sec / 3600) + ' h';
    return nf1.format(sec / 86400) + ' days';
  }

  function honesty(d) {
    const o = d.honesty;
    const at = new Date(o.popularity_at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    $('#honesty').textContent =
      'Public counts (/v1/popularity) never show a number below ' + o.min_count + '. ' +
      (o.flagged_clients === 1 ? '1 client is' : fmt(o.flagged_clients) + ' clients are') +
      ' left out of them for abnormal rates (over ' + fmt(o.events_per_hour) + ' events or ' + fmt(o.likes_per_hour) +
      ' likes in an hour). Times are when the server received events. Popularity as of ' + at + '.';
  }

  // --- wiring ------------------------------------------------------------------

  function start() {
    $('.signin-card').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = $('#token').value.trim();
      if (!t) return;
      write(TOKEN_KEY, t);
      if (!read(TOKEN_KEY)) memoryToken = t;
      showApp();
      load();
    });
    $('.signout').addEventListener('click', () => signOut(''));
    for (const b of document.querySelectorAll('.ranges button')) {
      b.addEventListener('click', () => {
        range = b.dataset.range;
        write(RANGE_KEY, range);
        showApp();
        load();
      });
    }
    let resize = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resize);
      resize = setTimeout(() => { if (last) render(last[0], last[1]); }, 150);
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && token()) load();
    });
    timer = setInterval(() => {
      if (document.visibilityState === 'visible' && token()) load();
    }, REFRESH_MS);
    if (token()) {
      showApp();
      load();
    } else {
      showSignIn('');
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
  void timer;
})();
