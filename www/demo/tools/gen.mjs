#!/usr/bin/env node
// Generates the Norte Outfitters demo catalogue and its artwork.
//
//   node www/demo/tools/gen.mjs
//
// Writes (relative to www/demo/):
//   catalog.js        window.SHOP_CATALOG = [...]   (classic script)
//   catalog.json      the same array as JSON
//   img/SKU-xxx.svg   one drawn product image per product (400x400)
//   img/logo.svg      shop logo (mark + wordmark)
//   img/logo-light.svg  the same for dark backgrounds (footer)
//   img/favicon.svg   logo mark only
//   img/hero.svg      hero illustration for the listing page
//
// Output is deterministic: running it twice gives identical files.

import { mkdirSync, writeFileSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const IMG = join(ROOT, 'img');

// ---------------------------------------------------------------------------
// Catalogue source. [sku number, name, brand, category, price, likes, stock,
// colour name, palette [main, accent, background], art override, description]
// ---------------------------------------------------------------------------
const P = {
  // background tints
  sand: '#f3ece2', mist: '#e8eef3', sage: '#e6efe8', blush: '#f6e9e6', lilac: '#ece9f4',
  lemon: '#f5f1dc', ice: '#e4f0f2', stone: '#ecebe8',
};

const SOURCE = [
  // shoes
  [1, 'Trail Runner 2', 'Stride', 'shoes/running', 89.90, 37, true, 'Ocean blue', ['#2f6fb0', '#f2a541', P.mist], null,
    'A light, cushioned daily runner with a grippy rubber outsole that handles park paths and gravel alike.'],
  [2, 'Tempo Glide', 'Stride', 'shoes/running', 119.00, 140, true, 'Coral', ['#e8604c', '#2d3a4a', P.blush], null,
    'Responsive foam and a rocker sole for faster training days. Breathable engineered mesh upper.'],
  [3, 'Cityline Runner', 'Northwind', 'shoes/running', 74.50, 3, true, 'Graphite', ['#4a5561', '#9bd3c8', P.stone], null,
    'An easy-going runner for short loops and long commutes, with a padded collar and reflective heel.'],
  [4, 'Ridge Trail GTX', 'Cairn', 'shoes/trail', 139.90, 1250, true, 'Moss', ['#5b7a3a', '#e0b341', P.sage], null,
    'Waterproof trail shoe with 5 mm lugs, a rock plate and a toe bumper for rough, wet mountain paths.'],
  [5, 'Scree Grip', 'Alpenkamm', 'shoes/trail', 129.00, 12, true, 'Glacier', ['#3d8fa3', '#f06a4b', P.ice], null,
    'Sticky rubber, a precise fit and a low drop for technical descents and scrambly ridgelines.'],
  [6, 'Mudlark Trail', 'Stride', 'shoes/trail', 109.90, 0, false, 'Rust', ['#b5542d', '#2f3b45', P.sand], null,
    'Aggressive chevron lugs that shed mud fast. Built for soggy forest trails and autumn races.'],
  [7, 'Summit Mid Boot', 'Alpenkamm', 'shoes/hiking', 179.00, 64, true, 'Chestnut', ['#8a5a3b', '#d9a441', P.sand], null,
    'A supportive mid-cut leather hiking boot with a waterproof membrane and a cushioned Vibram-style sole.'],
  [8, 'Fjord Hiker', 'Cairn', 'shoes/hiking', 159.90, 8, true, 'Slate', ['#4b5d6e', '#e07a3f', P.mist], null,
    'Lightweight suede-and-mesh boot that is comfortable out of the box, for long days on the fell.'],
  // apparel
  [9, 'Storm Shell Jacket', 'Northwind', 'apparel/jackets', 229.00, 412, true, 'Signal red', ['#c8373b', '#2b3440', P.blush], null,
    'Three-layer waterproof, breathable shell with a helmet-compatible hood and pit zips.'],
  [10, 'Featherlite Down Hoody', 'Alpenkamm', 'apparel/jackets', 249.90, 87, true, 'Pine', ['#2f6b57', '#d8c27a', P.sage], 'puffer',
    'Warm 800-fill responsibly sourced down in a packable hooded jacket that stuffs into its own pocket.'],
  [11, 'Drizzle Packable Jacket', 'Lumo', 'apparel/jackets', 99.90, 21, true, 'Sunflower', ['#e9b630', '#33414e', P.lemon], null,
    'A featherweight rain jacket for city showers and summer hikes. Packs down to the size of an apple.'],
  [12, 'Merino Trail Tee', 'Cairn', 'apparel/tops', 54.90, 230, true, 'Heather blue', ['#5a7fa8', '#e8e2d6', P.mist], null,
    'Soft, odour-resistant merino blend that stays comfortable from the first climb to the last descent.'],
  [13, 'Sunrise Tech Tee', 'Stride', 'apparel/tops', 34.90, 5, true, 'Tangerine', ['#ef8a3c', '#ffffff', P.sand], null,
    'Quick-drying technical running tee with flat seams and a reflective logo on the chest.'],
  [14, 'Basecamp Organic Tee', 'Lumo', 'apparel/tops', 29.90, 0, true, 'Sage', ['#8aa58a', '#f4efe4', P.sage], null,
    'Everyday tee in heavyweight organic cotton, garment-dyed for a soft, lived-in feel.'],
  [15, 'Switchback Hiking Pants', 'Alpenkamm', 'apparel/pants', 94.90, 45, true, 'Olive', ['#6b7045', '#c9a66b', P.stone], null,
    'Stretchy, durable trousers with articulated knees, zip pockets and a water-repellent finish.'],
  [16, 'Boulder Stretch Pants', 'Northwind', 'apparel/pants', 79.00, 2, false, 'Charcoal', ['#3e444c', '#e36f4f', P.stone], null,
    'Four-way stretch climbing pants with a gusseted crotch and a roll-up ankle cuff.'],
  [17, 'Tempo Running Tights', 'Stride', 'apparel/pants', 59.90, 19, true, 'Midnight', ['#27334a', '#5fc0b0', P.lilac], null,
    'Supportive full-length tights with a phone pocket on the thigh and reflective ankle details.'],
  // bags
  [18, 'Skyline 28 Daypack', 'Northwind', 'bags/backpacks', 119.00, 310, true, 'Teal', ['#2a8c8c', '#f2c14e', P.ice], null,
    'A 28-litre daypack with a ventilated back panel, hip belt pockets and a hydration sleeve.'],
  [19, 'Expedition 65 Pack', 'Alpenkamm', 'bags/backpacks', 249.00, 58, true, 'Ember', ['#d0553a', '#3b4652', P.blush], null,
    'Adjustable trekking pack for multi-day trips, with a floating lid and a load-lifting harness.'],
  [20, 'Commuter 18 Pack', 'Lumo', 'bags/backpacks', 69.90, 14, true, 'Ink', ['#34405a', '#e9b44c', P.mist], null,
    'A tidy 18-litre pack with a padded laptop sleeve, a quick-access top pocket and reflective trims.'],
  [21, 'Basecamp Duffel 60L', 'Cairn', 'bags/duffels', 129.90, 96, true, 'Mustard', ['#d9a23a', '#2c3440', P.lemon], null,
    'Tough, weatherproof duffel with backpack straps, a wide D-zip opening and end pockets.'],
  [22, 'Weekender Duffel 40L', 'Northwind', 'bags/duffels', 89.00, 1, true, 'Navy', ['#2c4a74', '#e6d5b8', P.mist], null,
    'A carry-on-sized duffel for weekends away, with a shoe compartment and padded shoulder strap.'],
  // camping
  [23, 'Ridgeline 2 Tent', 'Alpenkamm', 'camping/tents', 329.00, 178, true, 'Orange', ['#e8743b', '#3f5566', P.sand], null,
    'Freestanding two-person, three-season tent with two doors, two vestibules and a 1.9 kg trail weight.'],
  [24, 'Meadow 3 Family Tent', 'Cairn', 'camping/tents', 279.90, 33, true, 'Forest', ['#3f7d52', '#e9d8a6', P.sage], null,
    'Roomy three-person tent with near-vertical walls, a big porch and blackout bedroom fabric.'],
  [25, 'Solo Bivy Tent', 'Northwind', 'camping/tents', 189.00, 0, true, 'Lime', ['#9bb83a', '#3a4450', P.lemon], null,
    'A minimalist one-person shelter for fast-and-light trips. Sets up in under three minutes.'],
  [26, 'Pocket Stove Ti', 'Lumo', 'camping/cooking', 49.90, 520, true, 'Titanium', ['#9aa4ad', '#f08a3c', P.stone], 'stove',
    'Ultralight titanium canister stove with a piezo igniter and a fold-away pot support.'],
  [27, 'Nesting Pot Set', 'Cairn', 'camping/cooking', 39.90, 11, true, 'Anodised red', ['#c2453d', '#4a4f57', P.blush], 'pot',
    'Two hard-anodised aluminium pots, a lid and a folding handle that nest together around a fuel can.'],
  [28, 'Enamel Camp Mug', 'Lumo', 'camping/cooking', 14.90, 860, true, 'Sky', ['#6aa6d8', '#2d3a4a', P.ice], 'mug',
    'The classic speckled enamel mug for coffee at the tent door. 350 ml, stackable and tough.'],
  [29, 'Glacier -10 Sleeping Bag', 'Alpenkamm', 'camping/sleeping', 289.00, 71, true, 'Cobalt', ['#3458a6', '#f2b84b', P.mist], null,
    'A mummy-shaped down bag rated to -10 °C, with a draught collar and a snug, adjustable hood.'],
  [30, 'Summer Lite Sleeping Bag', 'Northwind', 'camping/sleeping', 119.90, 6, true, 'Plum', ['#7d4a86', '#f0c75e', P.lilac], null,
    'A light synthetic bag for warm nights and hut trips that stuffs down to the size of a loaf of bread.'],
  // accessories
  [31, 'Insulated Bottle 750 ml', 'Lumo', 'accessories/bottles', 32.90, 2310, true, 'Seafoam', ['#4fb3a0', '#2d3a4a', P.ice], null,
    'Double-walled steel bottle that keeps drinks cold for 24 hours or hot for 12. Leak-proof loop cap.'],
  [32, 'Trail Flask 500 ml', 'Stride', 'accessories/bottles', 19.90, 27, true, 'Berry', ['#c43f6b', '#ffffff', P.blush], null,
    'A slim, lightweight bottle with a bite valve that fits a running vest pocket.'],
  [33, 'Beam 400 Headlamp', 'Lumo', 'accessories/headlamps', 44.90, 150, true, 'Volt', ['#c6d43a', '#2f3a44', P.lemon], null,
    'A 400-lumen rechargeable headlamp with a red night mode and a lock to stop it turning on in your pack.'],
  [34, 'Nightrunner Headlamp', 'Stride', 'accessories/headlamps', 39.90, 9, true, 'Aqua', ['#33a5c4', '#2f3a44', P.ice], null,
    'Bounce-free, low-profile headlamp for pre-dawn runs, with a reflective band and USB-C charging.'],
  [35, 'Trucker Cap', 'Cairn', 'accessories/caps', 24.90, 38, true, 'Rust & cream', ['#b8553a', '#f1e6d0', P.sand], null,
    'A classic mesh-back trucker cap with an embroidered mountain patch and snapback closure.'],
  [36, 'Run Cap Ultralight', 'Stride', 'accessories/caps', 22.90, 0, true, 'Ice blue', ['#8cc3e0', '#2d3a4a', P.mist], null,
    'A feather-light running cap with a soft, packable brim, a sweatband and laser-cut vents.'],
];

const pad = (n) => String(n).padStart(3, '0');

const CATALOG = SOURCE.map(([n, name, brand, category, price, likes, inStock, color, , , description]) => ({
  sku: `SKU-${pad(n)}`,
  name,
  brand,
  category,
  price,
  currency: 'EUR',
  description,
  color,
  inStock,
  likes,
  image: `img/SKU-${pad(n)}.svg`,
  url: `product.html?sku=SKU-${pad(n)}`,
}));

// ---------------------------------------------------------------------------
// Colour helpers
// ---------------------------------------------------------------------------
function hexToRgb(h) {
  const n = parseInt(h.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
function rgbToHex([r, g, b]) {
  return '#' + [r, g, b].map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0')).join('');
}
/** Mix colour a towards b by t (0..1). */
function mix(a, b, t) {
  const x = hexToRgb(a), y = hexToRgb(b);
  return rgbToHex(x.map((v, i) => v + (y[i] - v) * t));
}
const dark = (c, t = 0.25) => mix(c, '#000000', t);
const light = (c, t = 0.3) => mix(c, '#ffffff', t);

const INK = '#22303c';

// ---------------------------------------------------------------------------
// Drawings. Each returns SVG markup for a 400x400 canvas. `k` holds
// main colour `a`, accent `b`, and derived shades.
// ---------------------------------------------------------------------------
const stroke = `stroke="${INK}" stroke-width="5" stroke-linejoin="round" stroke-linecap="round"`;
const thin = `stroke="${INK}" stroke-width="3.5" stroke-linejoin="round" stroke-linecap="round"`;
const sw = (w) => `stroke="${INK}" stroke-width="${w}" stroke-linejoin="round" stroke-linecap="round"`;

function shoe(k, variant) {
  // variant: 'running' | 'trail' | 'hiking'
  const boot = variant === 'hiking';
  const upper = boot
    ? 'M80 272 L84 150 Q86 122 112 120 L160 122 Q176 124 180 140 L198 184 Q254 202 316 222 Q352 234 354 262 L352 272 Z'
    : 'M74 272 L76 206 Q78 178 104 176 L142 182 Q162 186 172 168 L192 142 Q202 132 214 142 L244 178 Q294 206 332 224 Q356 236 354 260 L352 272 Z';
  const tongue = boot
    ? 'M156 122 L164 94 Q168 84 180 86 L204 92 Q214 96 212 108 L208 150 L226 192 L190 192 Z'
    : 'M184 150 L194 126 Q200 118 210 122 L226 138 L214 156 Z';
  const laces = boot
    ? [[170, 134, 204, 122], [176, 150, 208, 140], [182, 166, 212, 158], [190, 182, 220, 178]]
    : [[196, 152, 214, 146], [206, 164, 226, 160], [218, 176, 240, 174]];
  const sole = 'M62 268 L356 268 Q366 270 364 284 Q360 300 338 300 L84 300 Q60 300 60 284 Z';
  const midline = variant === 'running'
    ? `<path d="M66 284 L360 284" fill="none" stroke="${k.b}" stroke-width="7" stroke-linecap="round"/>`
    : '';
  const lugs = variant === 'trail' || boot
    ? Array.from({ length: 9 }, (_, i) => {
        const x = 82 + i * 31;
        return `<path d="M${x} 300 L${x + 6} 312 L${x + 18} 312 L${x + 22} 300 Z" fill="${INK}"/>`;
      }).join('')
    : '';
  const toecap = variant === 'trail' || boot
    ? `<path d="M300 232 Q340 240 352 256 L352 272 L296 272 Q292 250 300 232 Z" fill="${k.b}" ${thin}/>`
    : '';
  const swoosh = boot
    ? `<path d="M96 236 Q170 250 246 212" fill="none" stroke="${k.b}" stroke-width="12" stroke-linecap="round"/>`
    : `<path d="M108 246 Q190 250 262 200" fill="none" stroke="${k.b}" stroke-width="12" stroke-linecap="round"/>
       <path d="M128 258 Q206 258 282 214" fill="none" stroke="${light(k.a, 0.45)}" stroke-width="6" stroke-linecap="round"/>`;
  const heel = boot
    ? `<path d="M84 150 L83 206 Q96 204 100 192 L102 152 Q94 148 84 150 Z" fill="${k.b}" ${thin}/>`
    : `<path d="M76 206 L76 248 Q90 246 96 236 L98 196 Q84 196 76 206 Z" fill="${k.b}" ${thin}/>`;
  const eyelets = boot
    ? [[170, 134], [176, 150], [182, 166], [190, 182]].map(([x, y]) => `<circle cx="${x}" cy="${y}" r="4.5" fill="${k.b}" ${thin}/>`).join('')
    : '';
  return `
    ${tongue ? `<path d="${tongue}" fill="${dark(k.a, 0.18)}" ${stroke}/>` : ''}
    <path d="${upper}" fill="${k.a}" ${stroke}/>
    ${heel}
    ${swoosh}
    ${toecap}
    ${laces.map(([x1, y1, x2, y2]) => `<path d="M${x1} ${y1} L${x2} ${y2}" stroke="#ffffff" stroke-width="6" stroke-linecap="round"/>`).join('')}
    ${eyelets}
    ${lugs}
    <path d="${sole}" fill="${variant === 'running' ? '#fbfaf7' : light(INK, 0.82)}" ${stroke}/>
    ${midline}
  `;
}

function jacket(k, puffer) {
  const body = 'M158 110 L124 126 Q104 136 100 164 L80 292 Q78 306 92 308 L110 310 Q122 310 124 298 L138 206 L138 330 Q138 342 150 342 L250 342 Q262 342 262 330 L262 206 L276 298 Q278 310 290 310 L308 308 Q322 306 320 292 L300 164 Q296 136 276 126 L242 110 Q222 126 200 126 Q178 126 158 110 Z';
  const hood = 'M150 124 Q144 68 200 64 Q256 68 250 124 L242 110 Q222 128 200 128 Q178 128 158 110 Z';
  const hoodInside = 'M166 116 Q170 88 200 86 Q230 88 234 116 Q220 108 200 108 Q180 108 166 116 Z';
  const baffles = puffer
    ? [170, 206, 242, 278, 314].map((y) => `<path d="M140 ${y} Q200 ${y + 8} 260 ${y}" fill="none" ${thin} stroke-opacity="0.55"/>`).join('') +
      [170, 206, 242].map((y) => `<path d="M${y < 200 ? 108 : 100} ${y + 4} L${y < 200 ? 132 : 130} ${y + 10}" fill="none" ${thin} stroke-opacity="0.5"/>
        <path d="M${y < 200 ? 292 : 300} ${y + 4} L${y < 200 ? 268 : 270} ${y + 10}" fill="none" ${thin} stroke-opacity="0.5"/>`).join('')
    : `<path d="M150 240 L184 232" ${thin} fill="none"/><path d="M250 240 L216 232" ${thin} fill="none"/>
       <path d="M148 156 L170 150" stroke="${k.b}" stroke-width="6" stroke-linecap="round"/>`;
  return `
    <path d="${hood}" fill="${dark(k.a, 0.12)}" ${stroke}/>
    <path d="${hoodInside}" fill="${dark(k.a, 0.45)}" ${thin}/>
    <path d="${body}" fill="${k.a}" ${stroke}/>
    ${baffles}
    <path d="M80 292 L78 304 Q78 310 92 310 L110 312 Q120 312 122 302 L124 292 Z" fill="${k.b}" ${thin}/>
    <path d="M320 292 L322 304 Q322 310 308 310 L290 312 Q280 312 278 302 L276 292 Z" fill="${k.b}" ${thin}/>
    <path d="M200 126 L200 342" ${stroke} fill="none"/>
    <path d="M200 126 L200 342" stroke="${k.b}" stroke-width="2" stroke-dasharray="3 5" fill="none"/>
    <rect x="193" y="134" width="14" height="22" rx="4" fill="${k.b}" ${thin}/>
    <path d="M138 326 L262 326" stroke="${dark(k.a, 0.2)}" stroke-width="6"/>
  `;
}

function tee(k) {
  const body = 'M164 88 Q200 112 236 88 L296 112 L334 172 L292 194 L274 168 L274 330 Q274 340 264 340 L136 340 Q126 340 126 330 L126 168 L108 194 L66 172 L104 112 Z';
  return `
    <path d="${body}" fill="${k.a}" ${stroke}/>
    <path d="M164 88 Q200 126 236 88" fill="none" stroke="${k.b}" stroke-width="9"/>
    <path d="M164 88 Q200 126 236 88" fill="none" ${thin}/>
    <path d="M72 176 L292 194" fill="none" stroke="none"/>
    <path d="M108 194 L122 170" fill="none" ${thin} stroke-opacity="0.5"/>
    <path d="M292 194 L278 170" fill="none" ${thin} stroke-opacity="0.5"/>
    <g transform="translate(200 190)">
      <circle r="22" fill="${k.b}" ${thin}/>
      <path d="M-14 8 L-4 -8 L2 0 L6 -5 L14 8 Z" fill="${k.a}"/>
    </g>
  `;
}

function pants(k, tights) {
  const legs = tights
    ? 'M146 92 L254 92 L258 180 L246 340 L210 340 L202 170 L198 170 L190 340 L154 340 L142 180 Z'
    : 'M136 92 L264 92 L276 334 Q276 342 268 342 L220 342 Q212 342 212 334 L202 168 L198 168 L188 334 Q188 342 180 342 L132 342 Q124 342 124 334 Z';
  const detail = tights
    ? `<path d="M254 110 L258 180 L250 280" fill="none" stroke="${k.b}" stroke-width="6" stroke-linecap="round"/>
       <path d="M146 110 L142 180 L150 280" fill="none" stroke="${k.b}" stroke-width="6" stroke-linecap="round"/>
       <rect x="218" y="150" width="30" height="40" rx="6" fill="${dark(k.a, 0.2)}" ${thin}/>`
    : `<path d="M140 112 Q160 130 170 112" fill="none" ${thin}/>
       <path d="M260 112 Q240 130 230 112" fill="none" ${thin}/>
       <rect x="226" y="190" width="38" height="40" rx="5" fill="${dark(k.a, 0.12)}" ${thin}/>
       <path d="M232 200 L258 200" stroke="${k.b}" stroke-width="4" stroke-linecap="round"/>
       <path d="M140 248 Q160 256 182 250" fill="none" ${thin} stroke-opacity="0.5"/>
       <path d="M218 250 Q240 256 262 248" fill="none" ${thin} stroke-opacity="0.5"/>
       <path d="M200 104 L200 150" ${thin}/>`;
  return `
    <path d="${legs}" fill="${k.a}" ${stroke}/>
    <rect x="${tights ? 144 : 134}" y="78" width="${tights ? 112 : 132}" height="24" rx="6" fill="${tights ? k.b : dark(k.a, 0.2)}" ${stroke}/>
    ${tights ? '' : [150, 182, 218, 250].map((x) => `<rect x="${x - 4}" y="76" width="8" height="28" rx="3" fill="${k.a}" ${thin}/>`).join('')}
    ${detail}
  `;
}

function backpack(k) {
  return `
    <path d="M154 86 Q154 60 180 60 L220 60 Q246 60 246 86" fill="none" ${sw(10)}/>
    <path d="M154 86 Q154 60 180 60 L220 60 Q246 60 246 86" fill="none" stroke="${k.b}" stroke-width="4"/>
    <path d="M118 150 Q118 84 200 82 Q282 84 282 150 L286 318 Q286 344 260 344 L140 344 Q114 344 114 318 Z" fill="${k.a}" ${stroke}/>
    <path d="M122 158 Q124 96 200 94 Q276 96 278 158 Q240 172 200 172 Q160 172 122 158 Z" fill="${dark(k.a, 0.18)}" ${stroke}/>
    <path d="M134 150 Q200 166 266 150" fill="none" stroke="${k.b}" stroke-width="3" stroke-dasharray="6 6"/>
    <rect x="146" y="214" width="108" height="104" rx="22" fill="${light(k.a, 0.14)}" ${stroke}/>
    <path d="M160 236 Q200 226 240 236" fill="none" ${thin}/>
    <rect x="190" y="230" width="20" height="12" rx="4" fill="${k.b}" ${thin}/>
    <path d="M114 196 L146 196" ${stroke}/><path d="M254 196 L286 196" ${stroke}/>
    <rect x="108" y="186" width="14" height="22" rx="4" fill="${k.b}" ${thin}/>
    <rect x="278" y="186" width="14" height="22" rx="4" fill="${k.b}" ${thin}/>
    <path d="M170 172 L170 210" stroke="${k.b}" stroke-width="8" stroke-linecap="round"/>
    <path d="M230 172 L230 210" stroke="${k.b}" stroke-width="8" stroke-linecap="round"/>
  `;
}

function duffel(k) {
  return `
    <path d="M150 180 Q150 112 200 112 Q250 112 250 180" fill="none" ${sw(12)}/>
    <path d="M150 180 Q150 112 200 112 Q250 112 250 180" fill="none" stroke="${k.b}" stroke-width="5"/>
    <path d="M86 174 L314 174 Q354 176 356 246 Q354 316 314 318 L86 318 Q46 316 44 246 Q46 176 86 174 Z" fill="${k.a}" ${stroke}/>
    <ellipse cx="82" cy="246" rx="30" ry="64" fill="${dark(k.a, 0.16)}" ${stroke}/>
    <ellipse cx="318" cy="246" rx="30" ry="64" fill="${dark(k.a, 0.16)}" ${stroke}/>
    <path d="M100 196 Q200 184 300 196" fill="none" ${thin}/>
    <path d="M100 196 Q200 184 300 196" fill="none" stroke="${k.b}" stroke-width="2" stroke-dasharray="4 5"/>
    <rect x="134" y="232" width="132" height="54" rx="12" fill="${light(k.a, 0.16)}" ${thin}/>
    <path d="M146 248 L254 248" stroke="${k.b}" stroke-width="5" stroke-linecap="round"/>
    <path d="M140 176 L140 316" stroke="${k.b}" stroke-width="9"/>
    <path d="M260 176 L260 316" stroke="${k.b}" stroke-width="9"/>
    <circle cx="82" cy="246" r="12" fill="${k.b}" ${thin}/>
    <circle cx="318" cy="246" r="12" fill="${k.b}" ${thin}/>
  `;
}

function tent(k, variant) {
  if (variant === 'bivy') {
    return `
      <path d="M40 312 L360 312" ${stroke}/>
      <path d="M60 310 Q70 220 150 196 Q260 168 348 302 L350 310 Z" fill="${k.a}" ${stroke}/>
      <path d="M150 196 Q190 250 196 310" fill="none" ${thin}/>
      <path d="M92 310 Q104 244 150 222 Q168 262 168 310 Z" fill="${dark(k.a, 0.35)}" ${thin}/>
      <path d="M150 196 L148 170" ${stroke}/>
      <path d="M150 170 L60 260" stroke="${INK}" stroke-width="2" stroke-dasharray="5 5"/>
      <path d="M150 170 L300 240" stroke="${INK}" stroke-width="2" stroke-dasharray="5 5"/>
      <path d="M220 206 Q260 218 300 262" fill="none" stroke="${k.b}" stroke-width="6" stroke-linecap="round"/>
    `;
  }
  const wide = variant === 'family';
  const w = wide ? 170 : 150;
  const top = wide ? 108 : 118;
  return `
    <path d="M30 312 L370 312" ${stroke}/>
    <path d="M${200 - w} 310 Q${200 - w + 26} ${top + 30} 200 ${top} Q${200 + w - 26} ${top + 30} ${200 + w} 310 Z" fill="${k.a}" ${stroke}/>
    <path d="M${200 - w + 40} 310 Q${200 - w + 70} ${top + 60} 200 ${top + 2}" fill="none" ${thin} stroke-opacity="0.6"/>
    <path d="M${200 + w - 40} 310 Q${200 + w - 70} ${top + 60} 200 ${top + 2}" fill="none" ${thin} stroke-opacity="0.6"/>
    <path d="M140 310 Q146 ${top + 70} 200 ${top + 56} Q254 ${top + 70} 260 310 Z" fill="${dark(k.a, 0.38)}" ${stroke}/>
    <path d="M200 ${top + 58} L200 310" stroke="${k.b}" stroke-width="4" stroke-dasharray="6 6"/>
    <path d="M156 310 Q166 ${top + 96} 200 ${top + 86} L200 310 Z" fill="${k.b}" ${thin}/>
    <path d="M${200 - w + 10} 290 L${200 - w - 16} 318" ${thin}/>
    <path d="M${200 + w - 10} 290 L${200 + w + 16} 318" ${thin}/>
    <path d="M200 ${top} L200 ${top - 18}" ${stroke}/>
    ${wide ? `<path d="M${200 - w + 28} ${top + 120} Q${200 - w + 70} ${top + 86} 120 ${top + 84}" fill="none" stroke="${k.b}" stroke-width="6" stroke-linecap="round"/>` : ''}
  `;
}

function stove(k) {
  return `
    <path d="M150 330 L250 330" ${stroke}/>
    <path d="M128 234 Q128 216 150 214 L250 214 Q272 216 272 234 L272 318 Q272 338 250 338 L150 338 Q128 338 128 318 Z" fill="${k.b}" ${stroke}/>
    <rect x="140" y="256" width="120" height="40" rx="8" fill="${light(k.b, 0.5)}" ${thin}/>
    <path d="M160 276 L240 276" stroke="${INK}" stroke-width="4" stroke-linecap="round"/>
    <rect x="184" y="194" width="32" height="22" rx="4" fill="${k.a}" ${stroke}/>
    <path d="M216 204 L248 204 Q258 204 258 196" fill="none" ${thin}/>
    <circle cx="262" cy="192" r="8" fill="${k.a}" ${thin}/>
    <path d="M170 176 Q170 160 200 160 Q230 160 230 176 L226 194 L174 194 Z" fill="${k.a}" ${stroke}/>
    <path d="M130 150 L176 176 M270 150 L224 176 M200 150 L200 160" ${stroke}/>
    <path d="M200 150 Q176 118 194 86 Q198 112 210 104 Q232 126 200 150 Z" fill="#f3a13c" ${thin}/>
    <path d="M200 146 Q190 128 200 114 Q212 130 200 146 Z" fill="#fde07a"/>
    <path d="M176 152 Q166 138 172 124 Q182 138 186 150 Z" fill="#f3a13c" ${thin}/>
    <path d="M224 152 Q234 138 228 124 Q218 138 214 150 Z" fill="#f3a13c" ${thin}/>
  `;
}

function pot(k) {
  return `
    <path d="M96 196 L304 196 L292 316 Q290 340 264 340 L136 340 Q110 340 108 316 Z" fill="${k.a}" ${stroke}/>
    <path d="M112 228 L288 228" stroke="${light(k.a, 0.3)}" stroke-width="8"/>
    <path d="M86 182 Q200 150 314 182 L314 196 L86 196 Z" fill="${dark(k.a, 0.15)}" ${stroke}/>
    <rect x="182" y="146" width="36" height="20" rx="8" fill="${k.b}" ${stroke}/>
    <path d="M304 214 L366 206 Q376 206 374 216 L370 226 Q368 232 360 232 L300 236" fill="${k.b}" ${stroke}/>
    <path d="M150 108 Q140 92 152 76 M200 112 Q190 92 202 70 M250 108 Q240 92 252 76" fill="none" stroke="${light(INK, 0.55)}" stroke-width="5" stroke-linecap="round"/>
  `;
}

function mug(k) {
  const speckles = [[140, 210], [170, 250], [226, 226], [250, 290], [160, 300], [206, 276], [236, 196], [188, 214], [142, 268], [214, 316]]
    .map(([x, y]) => `<circle cx="${x}" cy="${y}" r="3" fill="#ffffff" fill-opacity="0.75"/>`).join('');
  return `
    <path d="M262 200 Q326 196 326 250 Q326 304 262 300" fill="none" ${sw(30)}/>
    <path d="M262 200 Q326 196 326 250 Q326 304 262 300" fill="none" stroke="${k.a}" stroke-width="20"/>
    <path d="M120 176 L280 176 L272 318 Q270 340 246 340 L154 340 Q130 340 128 318 Z" fill="${k.a}" ${stroke}/>
    ${speckles}
    <ellipse cx="200" cy="176" rx="80" ry="14" fill="${k.b}" ${stroke}/>
    <ellipse cx="200" cy="178" rx="68" ry="8" fill="#6b4a33"/>
    <path d="M128 318 Q130 340 154 340 L246 340 Q270 340 272 318" fill="none" stroke="${k.b}" stroke-width="8"/>
    <path d="M170 150 Q160 130 172 110 M206 146 Q196 124 210 100 M240 150 Q230 132 240 114" fill="none" stroke="${light(INK, 0.55)}" stroke-width="5" stroke-linecap="round"/>
  `;
}

function sleepingBag(k) {
  const quilts = [150, 190, 230, 270, 306].map((y) => `<path d="M${134 + (y - 150) * 0.08} ${y} Q200 ${y + 12} ${266 - (y - 150) * 0.08} ${y}" fill="none" ${thin} stroke-opacity="0.55"/>`).join('');
  return `
    <path d="M200 60 Q282 62 282 140 L262 326 Q258 350 200 350 Q142 350 138 326 L118 140 Q118 62 200 60 Z" fill="${k.a}" ${stroke}/>
    <ellipse cx="200" cy="114" rx="50" ry="36" fill="${dark(k.a, 0.4)}" ${stroke}/>
    <ellipse cx="200" cy="120" rx="34" ry="22" fill="${k.b}"/>
    ${quilts}
    <path d="M252 150 L240 330" stroke="${k.b}" stroke-width="5" stroke-linecap="round"/>
    <path d="M140 100 Q200 66 260 100" fill="none" stroke="${k.b}" stroke-width="5" stroke-linecap="round"/>
  `;
}

function bottle(k, flask) {
  if (flask) {
    return `
      <path d="M168 132 Q160 140 158 160 L152 320 Q152 342 176 342 L224 342 Q248 342 248 320 L242 160 Q240 140 232 132 Z" fill="${k.a}" ${stroke}/>
      <rect x="172" y="108" width="56" height="28" rx="8" fill="${INK}" ${stroke}/>
      <path d="M190 108 L192 72 Q200 64 208 72 L210 108 Z" fill="${k.b}" ${stroke}/>
      <path d="M156 206 Q200 218 244 206 L244 262 Q200 274 156 262 Z" fill="${k.b}" ${thin}/>
      <path d="M176 226 L224 226 M176 244 L214 244" stroke="${k.a}" stroke-width="5" stroke-linecap="round"/>
      <path d="M170 160 L168 300" stroke="#ffffff" stroke-width="7" stroke-opacity="0.45" stroke-linecap="round"/>
    `;
  }
  return `
    <path d="M200 60 Q228 60 228 84 L228 96" fill="none" ${sw(10)}/>
    <path d="M200 60 Q228 60 228 84 L228 96" fill="none" stroke="${k.b}" stroke-width="4"/>
    <rect x="164" y="84" width="72" height="44" rx="12" fill="${k.b}" ${stroke}/>
    <path d="M170 128 L230 128 Q262 138 262 172 L262 322 Q262 344 240 344 L160 344 Q138 344 138 322 L138 172 Q138 138 170 128 Z" fill="${k.a}" ${stroke}/>
    <rect x="138" y="208" width="124" height="64" fill="${light(k.a, 0.35)}" ${thin}/>
    <path d="M170 230 L196 230 M166 246 L230 246" stroke="${k.b}" stroke-width="5" stroke-linecap="round"/>
    <path d="M156 170 L156 196 M156 284 L156 320" stroke="#ffffff" stroke-width="8" stroke-opacity="0.5" stroke-linecap="round"/>
  `;
}

function headlamp(k) {
  return `
    <circle cx="214" cy="264" r="70" fill="#fff3b0" fill-opacity="0.6"/>
    <ellipse cx="200" cy="196" rx="146" ry="62" fill="none" ${sw(30)}/>
    <ellipse cx="200" cy="196" rx="146" ry="62" fill="none" stroke="${k.b}" stroke-width="20"/>
    <path d="M74 168 Q62 190 72 214 M326 168 Q338 190 328 214" fill="none" stroke="${k.a}" stroke-width="6" stroke-dasharray="4 8"/>
    <path d="M268 282 L300 290 M262 304 L288 326 M236 316 L244 346" stroke="#f2c230" stroke-width="6" stroke-linecap="round"/>
    <rect x="144" y="222" width="112" height="84" rx="22" fill="${k.a}" ${stroke}/>
    <circle cx="214" cy="264" r="28" fill="#fffbe0" ${stroke}/>
    <circle cx="214" cy="264" r="14" fill="#fde07a"/>
    <rect x="160" y="244" width="20" height="12" rx="4" fill="${k.b}" ${thin}/>
    <circle cx="170" cy="282" r="7" fill="#e84a3c" ${thin}/>
  `;
}

function cap(k, trucker) {
  return `
    <path d="M96 262 Q96 140 206 134 Q308 136 316 254 Z" fill="${trucker ? k.b : k.a}" ${stroke}/>
    ${trucker ? `<path d="M206 134 Q132 142 124 262 L96 262 Q96 140 206 134 Z" fill="${k.a}" ${thin}/>
      <path d="M206 134 Q264 140 290 186 Q262 220 268 258 L316 254 Q308 136 206 134 Z" fill="${k.a}" ${thin}/>
      ${[150, 170, 190, 210, 230].map((y) => `<path d="M${120 + (230 - y) * 0.2} ${y + 24} L${170 + (230 - y) * 0.2} ${y + 24}" stroke="${dark(k.b, 0.15)}" stroke-width="2"/>`).join('')}` : ''}
    <path d="M206 134 Q230 190 226 258" fill="none" ${thin} stroke-opacity="0.6"/>
    <path d="M206 134 Q160 180 160 260" fill="none" ${thin} stroke-opacity="0.6"/>
    <path d="M290 246 Q350 236 376 264 Q378 274 366 276 Q320 280 286 268 Z" fill="${trucker ? k.a : dark(k.a, 0.15)}" ${stroke}/>
    <path d="M96 256 Q200 276 300 254" fill="none" ${thin}/>
    <ellipse cx="206" cy="132" rx="12" ry="6" fill="${trucker ? k.a : k.b}" ${thin}/>
    ${trucker
      ? `<g transform="translate(254 212)"><rect x="-28" y="-20" width="56" height="40" rx="10" fill="${k.b}" ${thin}/><path d="M-18 12 L-4 -8 L4 2 L10 -4 L18 12 Z" fill="${k.a}"/></g>`
      : `<path d="M236 196 L270 186 M240 210 L272 202" stroke="${k.b}" stroke-width="5" stroke-linecap="round"/>`}
  `;
}

function drawing(p, [a, b, bg], art) {
  const k = { a, b, bg };
  const sub = p.category.split('/')[1];
  switch (art || sub) {
    case 'running': return shoe(k, 'running');
    case 'trail': return shoe(k, 'trail');
    case 'hiking': return shoe(k, 'hiking');
    case 'jackets': return jacket(k, false);
    case 'puffer': return jacket(k, true);
    case 'tops': return tee(k);
    case 'pants': return pants(k, /tights/i.test(p.name));
    case 'backpacks': return backpack(k);
    case 'duffels': return duffel(k);
    case 'tents': return tent(k, /bivy/i.test(p.name) ? 'bivy' : /family/i.test(p.name) ? 'family' : 'dome');
    case 'stove': return stove(k);
    case 'pot': return pot(k);
    case 'mug': return mug(k);
    case 'sleeping': return sleepingBag(k);
    case 'bottles': return bottle(k, /flask/i.test(p.name));
    case 'headlamps': return headlamp(k);
    case 'caps': return cap(k, /trucker/i.test(p.name));
    default: throw new Error(`no drawing for ${p.sku} (${art || sub})`);
  }
}

function productSvg(p, palette, art) {
  const [, , bg] = palette;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" height="400" role="img" aria-label="${esc(p.name)}">
  <title>${esc(p.name)} by ${esc(p.brand)}</title>
  <rect width="400" height="400" fill="${bg}"/>
  <circle cx="200" cy="205" r="158" fill="${mix(bg, palette[0], 0.09)}"/>
  <ellipse cx="200" cy="352" rx="150" ry="14" fill="${INK}" fill-opacity="0.10"/>
  ${drawing(p, palette, art).trim().replace(/\n\s+/g, '\n  ')}
</svg>
`;
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// ---------------------------------------------------------------------------
// Logo, favicon, hero
// ---------------------------------------------------------------------------
const BRAND_GREEN = '#1f5f4a';
const BRAND_ORANGE = '#e8743b';

const markPaths = (x = 0, y = 0) => `
  <g transform="translate(${x} ${y})">
    <rect width="48" height="48" rx="12" fill="${BRAND_GREEN}"/>
    <path d="M7 37 L19 18 L25 27 L30 20 L41 37 Z" fill="#ffffff"/>
    <path d="M19 18 L22.5 23.5 L19.5 25 L16.5 22.5 Z" fill="${BRAND_GREEN}" fill-opacity="0.25"/>
    <circle cx="35" cy="12.5" r="4.5" fill="${BRAND_ORANGE}"/>
  </g>`;

const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const logo = (ink, sub) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 176 48" width="176" height="48" role="img" aria-label="Norte Outfitters">
  <title>Norte Outfitters</title>${markPaths()}
  <text x="60" y="25" font-family="${FONT}" font-size="23" font-weight="800" letter-spacing="1.5" fill="${ink}" textLength="84" lengthAdjust="spacingAndGlyphs">NORTE</text>
  <text x="61" y="41" font-family="${FONT}" font-size="10.5" font-weight="600" letter-spacing="3" fill="${sub}" textLength="106" lengthAdjust="spacingAndGlyphs">OUTFITTERS</text>
</svg>
`;
const LOGO = logo('#17232d', BRAND_GREEN);
const LOGO_LIGHT = logo('#ffffff', '#9fd3bd');

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48">${markPaths()}
</svg>
`;

const HERO = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 400" width="640" height="400" role="img" aria-label="Mountains at sunrise with a tent">
  <title>Mountains at sunrise</title>
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#fbd9b0"/>
      <stop offset="1" stop-color="#fdf3e4"/>
    </linearGradient>
  </defs>
  <rect width="640" height="400" fill="url(#sky)"/>
  <circle cx="450" cy="150" r="54" fill="#f6a04d"/>
  <circle cx="450" cy="150" r="80" fill="#f6a04d" fill-opacity="0.18"/>
  <path d="M0 270 L110 150 L170 210 L260 100 L360 230 L430 170 L540 260 L640 190 L640 400 L0 400 Z" fill="#9fb7c2"/>
  <path d="M260 100 L290 138 L272 148 L252 132 L232 140 Z" fill="#ffffff" fill-opacity="0.85"/>
  <path d="M110 150 L128 170 L112 176 L96 166 Z" fill="#ffffff" fill-opacity="0.85"/>
  <path d="M0 300 L90 230 L190 290 L300 200 L420 290 L520 240 L640 300 L640 400 L0 400 Z" fill="#4f7f6c"/>
  <path d="M0 340 Q160 300 320 330 Q480 360 640 320 L640 400 L0 400 Z" fill="${BRAND_GREEN}"/>
  <g fill="#173f33">
    <path d="M60 340 L74 300 L88 340 Z"/><path d="M84 344 L100 292 L116 344 Z"/>
    <path d="M540 334 L556 288 L572 334 Z"/><path d="M566 330 L580 296 L594 330 Z"/>
  </g>
  <path d="M250 352 L300 296 L350 352 Z" fill="${BRAND_ORANGE}" stroke="#22303c" stroke-width="4" stroke-linejoin="round"/>
  <path d="M288 352 L300 318 L312 352 Z" fill="#7a3518"/>
  <path d="M300 296 L300 284" stroke="#22303c" stroke-width="4" stroke-linecap="round"/>
  <path d="M120 120 q10 -8 20 0 q10 -8 20 0" fill="none" stroke="#6b7b86" stroke-width="3" stroke-linecap="round"/>
  <path d="M170 90 q8 -6 16 0 q8 -6 16 0" fill="none" stroke="#6b7b86" stroke-width="3" stroke-linecap="round"/>
</svg>
`;

// ---------------------------------------------------------------------------
// Write everything
// ---------------------------------------------------------------------------
mkdirSync(IMG, { recursive: true });
for (const f of readdirSync(IMG)) {
  if (/^SKU-\d+\.svg$/.test(f)) unlinkSync(join(IMG, f));
}

const seen = new Set();
SOURCE.forEach((row, i) => {
  const p = CATALOG[i];
  if (seen.has(p.sku)) throw new Error(`duplicate ${p.sku}`);
  seen.add(p.sku);
  writeFileSync(join(IMG, `${p.sku}.svg`), productSvg(p, row[8], row[9]));
});
writeFileSync(join(IMG, 'logo.svg'), LOGO);
writeFileSync(join(IMG, 'logo-light.svg'), LOGO_LIGHT);
writeFileSync(join(IMG, 'favicon.svg'), FAVICON);
writeFileSync(join(IMG, 'hero.svg'), HERO);

const json = JSON.stringify(CATALOG, null, 2);
const header = '// Generated by tools/gen.mjs. Do not edit by hand: edit the generator and re-run it.\n';
writeFileSync(join(ROOT, 'catalog.json'), json + '\n');
writeFileSync(join(ROOT, 'catalog.js'), `${header}window.SHOP_CATALOG = ${json};\n`);

const cats = [...new Set(CATALOG.map((p) => p.category))];
console.log(`wrote ${CATALOG.length} products in ${cats.length} sub-categories (${new Set(cats.map((c) => c.split('/')[0])).size} top-level) to ${ROOT}`);
