// Vitrina's script-tag loader: the only code that runs before the wasm arrives,
// kept tiny (budget: 2 KB gzip). It reads its config from its own data-*
// attributes, keeps the call queue of the inline snippet, loads the module next
// to itself without blocking rendering, then replays the queued calls in order.
(function () {
  var w = window;
  var s = document.currentScript;
  var d = (s && s.dataset) || {};
  var queued = (w.vitrina && w.vitrina.q) || [];
  function warn(m) {
    console.warn('[vitrina] ' + m);
  }
  function run(api, args) {
    var f = api[args[0]];
    if (typeof f === 'function') return f.apply(api, [].slice.call(args, 1));
    warn('unknown command "' + args[0] + '"');
  }
  function install(api) {
    function v() {
      return run(api, arguments);
    }
    for (var k in api) v[k] = api[k];
    w.vitrina = v;
    for (var i = 0; i < queued.length; i++) run(api, queued[i]);
    queued = [];
  }
  // Until the module is here, calls are queued exactly as the snippet does.
  if (!w.vitrina || !w.vitrina.q) {
    var q = function () {
      q.q.push(arguments);
    };
    q.q = queued;
    w.vitrina = q;
  }
  var bad = !s
    ? 'could not find its own <script> element; load vitrina.js with a plain <script src>'
    : !/^[\w.-]{1,64}$/.test(d.site || '')
      ? 'the script tag needs data-site="your-shop-id" (letters, digits, - _ .); Vitrina is off on this page'
      : '';
  // The widget that does nothing: same methods and return types as the real one.
  var noop = { ready: false };
  'track view cartAdd cartRemove purchase like unlike share search page consent profile status refresh erase recommend openPanel flush'
    .split(' ')
    .forEach(function (m, i) {
      noop[m] = function () {
        return i < 11 ? false : i < 13 ? null : i < 15 ? undefined : i < 16 ? [] : Promise.resolve();
      };
    });
  if (bad) {
    warn(bad);
    install(noop);
    return;
  }
  var base = s.src.replace(/[^\/?#]*([?#].*)?$/, '');
  import(base + 'vitrina-core.js')
    .then(function (m) {
      var c = { debug: d.debug != null && d.debug !== 'false', autoCapture: d.autoCapture !== 'false' };
      'site endpoint lang consent format catalog popularity model ldpEpsilon search'.split(' ').forEach(function (k) {
        c[k] = d[k];
      });
      return m.start(c);
    })
    .then(function (api) {
      queued = (w.vitrina && w.vitrina.q) || queued;
      install(api);
    }, function (e) {
      warn('could not load (' + (e && e.message) + '); Vitrina is off on this page');
      queued = [];
      install(noop);
    });
})();
