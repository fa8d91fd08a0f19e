// Types for the public API of Vitrina. Script-tag users get the same API on
// `window.vitrina` (also callable as `vitrina('track', ...)`).

/** Event kinds, as accepted by {@link Vitrina.track}. */
export type EventKind =
  | 'page'
  | 'view'
  | 'impression'
  | 'rec-click'
  | 'cart-add'
  | 'cart-remove'
  | 'purchase'
  | 'like'
  | 'unlike'
  | 'search'
  | 'share'
  | 'custom';

/** Configuration for {@link init}. */
export interface VitrinaConfig {
  /** The shop's site id: 1-64 letters, digits, `-`, `_` or `.`. */
  site: string;
  /** Where batches are POSTed (a path or an http(s) URL). Omit to send nothing. */
  endpoint?: string;
  /**
   * How consent is asked: `opt-out` (default: on until the shopper says no),
   * `opt-in` (nothing kept or sent before `consent('granted')`), or `anonymous`
   * (personalization on the device; only id-free signals are sent). Global Privacy
   * Control and Do Not Track turn sending off unless the shopper grants it in
   * Vitrina's panel.
   */
  consent?: 'opt-in' | 'opt-out' | 'anonymous';
  /**
   * Local differential privacy for popularity: likes, unlikes and views leave the
   * browser only as randomized reports with this ε (0.1 to 10; smaller is more
   * private and noisier). No item id, client id or session travels with them; the
   * server de-biases the counts. Off when omitted. See docs/ldp.md.
   */
  ldpEpsilon?: number;
  /**
   * What a search sends: `terms` (default: the query reduced to normalized words) or
   * `category` (only the category it led to, passed as `search(query, { category })`;
   * a search without one is not sent). The words always stay usable on the device.
   */
  search?: 'terms' | 'category';
  /** A catalogue feed (JSON array of {item, name, image, url, category, brand, price, in_stock}) widening what slots can show. */
  catalog?: string;
  /** The public model's head (default: the endpoint with /collect replaced by /model/head). */
  model?: string;
  /** Wire format of the batches: compact binary (default) or JSON (see docs/wire-format.md). */
  format?: 'binary' | 'json';
  /** Log why events are rejected and other diagnostics to the console. */
  debug?: boolean;
  /** Language for texts and number formats (defaults to `<html lang>`). */
  lang?: string;
  /** Read `data-vitrina-*` markup automatically (default true). */
  autoCapture?: boolean;
  /** Counts below this are never shown as numbers (default 5). */
  minCount?: number;
  /**
   * The public popularity feed (like counts, trending, bestsellers) for badges and the
   * `trending` slot. Defaults to `endpoint` with a trailing `/collect` replaced by
   * `/popularity`; fetched once per page.
   */
  popularity?: string;
  /**
   * Where to load the .wasm from, when a bundler cannot resolve it:
   * `vitrina_core_bg.wasm`, or `vitrina_core_full_bg.wasm` when `format` is
   * `'json'` or `ldpEpsilon` is set (those features come in the larger build).
   */
  wasmUrl?: string | URL;
  /**
   * The shop's rules for every slot: SKUs pinned first, categories boosted
   * (factor above 1) or buried (below 1; 0 hides them), and after how many days a
   * bought item may be recommended again (default never).
   */
  rules?: { pin?: string[]; boost?: Record<string, number>; buyAgainDays?: number };
  /**
   * Extra headers on every request to `endpoint` (for example an API key). A
   * non-safelisted header makes a backend on another origin answer a CORS
   * preflight; page-hide requests then use keepalive fetch only (a beacon cannot
   * carry headers).
   */
  headers?: Record<string, string>;
  /** Deliver batches yourself (e.g. to a tag manager) instead of POSTing them. */
  transport?: (batch: Uint8Array) => Promise<unknown> | unknown;
}

/** An item, as passed to the typed helpers. A string is an item id. */
export interface ItemProps {
  /** Item id (SKU). */
  item: string;
  /** Display name (kept on the device for slots, never sent). */
  name?: string;
  /** Category path such as `shoes/running`. */
  category?: string;
  /** Brand. */
  brand?: string;
  /** Unit price in currency units (e.g. 89.9). */
  price?: number | string;
  /** ISO 4217 code such as `EUR`. */
  currency?: string;
  /** Quantity for cart events. */
  quantity?: number;
  /** Image URL (kept on the device). */
  image?: string;
  /** Product page URL (kept on the device). */
  url?: string;
}

/** One purchased line. */
export interface PurchaseLine {
  item: string;
  quantity?: number;
  price?: number | string;
}

/** A completed order. */
export interface PurchaseProps {
  order: string;
  value?: number | string;
  currency?: string;
  lines: PurchaseLine[];
}

/** Properties accepted by {@link Vitrina.track}. */
export interface TrackProps extends Partial<ItemProps> {
  /** Recommendation slot and id, for impressions and clicks. */
  slot?: string;
  rec?: string;
  /** Purchase fields. */
  order?: string;
  value?: number | string;
  lines?: PurchaseLine[];
  /** Search query (reduced to normalized terms before it is kept or sent). */
  query?: string;
  /** Custom event name and properties. */
  event?: string;
  props?: Record<string, string | number | boolean>;
}

/** What Vitrina keeps on this device (see the shopper's panel). */
export interface ProfileSnapshot {
  version: number;
  updated: number;
  recent: Array<{ item: string; name?: string; image?: string; url?: string; category?: string; price?: number; ts: number; views: number; dwell_ms: number }>;
  cart: Array<{ item: string; qty: number; price?: number; ts: number }>;
  likes: Array<{ item: string; ts: number }>;
  purchases: Array<{ item: string; ts: number }>;
  /** Interests (`c:` category, `b:` brand, `p:` price band) in thousandths. */
  interests: Array<{ key: string; score_milli: number }>;
  sessions: Array<{ start: number; last: number; events: number; items: string[] }>;
}

/** Delivery and storage diagnostics. */
export interface Status {
  client: string;
  /** Events stored and not yet acknowledged by the backend. */
  outbox: number;
  /** Whether a batch is being sent right now. */
  inflight: boolean;
  /** Whether events may leave the browser (consent, GPC / DNT). */
  sending: boolean;
  /** The shopper's consent choice. */
  consent: 'pending' | 'granted' | 'granted-by-shopper' | 'denied';
  dropped: number;
  persistent: boolean;
  lang: string;
}

/** The Vitrina API. No method ever throws. */
export interface Vitrina {
  /** False for the no-op widget returned when Vitrina could not start. */
  readonly ready: boolean;
  /** Records an event; false when it was invalid (see `debug`). */
  track(kind: EventKind, props?: TrackProps): boolean;
  view(item: ItemProps | string): boolean;
  cartAdd(item: ItemProps | string): boolean;
  cartRemove(item: ItemProps | string): boolean;
  purchase(order: PurchaseProps): boolean;
  like(item: ItemProps | string): boolean;
  unlike(item: ItemProps | string): boolean;
  share(item: ItemProps | string): boolean;
  /**
   * A search. `category`: the category it led to (for example the results page's
   * category); with `search: 'category'` in the config only that is sent, never the words.
   */
  search(query: string, options?: { category?: string }): boolean;
  /** Records a page view (SPA routers: call after a route change). */
  page(url?: string): boolean;
  /** Sends what is waiting now. */
  flush(): Promise<void>;
  /** What is kept on this device. */
  profile(): ProfileSnapshot | null;
  status(): Status | null;
  /**
   * Reads the page's markup again after the shop re-rendered it. Badges, like
   * buttons and slots added later are drawn without it (with automatic capture
   * on); call it when the route or the product shown changed without a
   * history change.
   */
  refresh(): void;
  /**
   * A ranked slot as data, for shops that draw their own: `for-you`, `similar`
   * (`item` is the anchor; default the page's product), `bought-together`,
   * `trending`, `cart-complements`. Reasons are in the page's language.
   * `trending` comes from the public popularity feed, fetched once per page: the
   * first call starts the fetch and returns `[]` until it has arrived.
   */
  recommend(
    kind: 'for-you' | 'similar' | 'bought-together' | 'trending' | 'cart-complements',
    options?: { item?: string; limit?: number },
  ): Array<{ item: string; name?: string; image?: string; url?: string; price?: number; reason: string; rec: string }>;
  /**
   * The shopper's choice from the shop's consent manager. Withdrawing stops
   * sending at once and empties the outbox. Returns false for anything but
   * `granted` / `denied`.
   */
  consent(choice: 'granted' | 'denied'): boolean;
  /** Erases everything kept on this device and rotates the client id. */
  erase(): void;
  /**
   * Opens the shopper's panel: what is kept on this device, with pause, consent,
   * download and erase. A `<button data-vitrina-panel>` on the page does the same.
   */
  openPanel(): Promise<void>;
}

/** Starts Vitrina (once per page). Resolves to a no-op widget, with one console warning, on a bad config. Never rejects. */
export function init(config: VitrinaConfig): Promise<Vitrina>;

/** A widget that does nothing. */
export function noop(): Vitrina;
