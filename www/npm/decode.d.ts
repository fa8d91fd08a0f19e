// Types for `vitrina/decode`: reading the batches the widget POSTs to /v1/collect.
// The wire formats are specified in docs/wire-format.md.

import type { EventKind } from './index.js';

/** One line of a purchase. */
export interface DecodedLine {
  /** Item id. */
  item: string;
  /** Quantity. */
  qty: number;
  /** Unit price in currency units (hundredths / 100), when known. */
  price?: number;
}

/** One event. Optional fields are absent (not `undefined`-valued) when not sent. */
export interface DecodedEvent {
  /**
   * The event id: 16 lower-case hex digits (64 bits; the high 32 identify the page
   * load, the low 32 count). Unique per client: dedupe on `(client, id)`.
   */
  id: string;
  /** What happened. */
  kind: EventKind;
  /** When, in milliseconds since the Unix epoch. */
  ts: number;
  /** Item id (SKU). Inherited from the previous event where the binary batch says so. */
  item?: string;
  /** Category path such as `shoes/running`. */
  category?: string;
  /** Brand. */
  brand?: string;
  /** Unit price (order value for purchases) in currency units: 89.9 for 89.90. */
  price?: number;
  /** ISO 4217 code such as `EUR`. */
  currency?: string;
  /** Quantity (cart events). */
  qty?: number;
  /** Page path. */
  url?: string;
  /** Recommendation slot. */
  slot?: string;
  /** Recommendation id. */
  rec?: string;
  /** Visible time on a product page, in milliseconds. */
  dwellMs?: number;
  /** Order id (purchases). */
  order?: string;
  /** Purchase lines (never empty when present). */
  lines?: DecodedLine[];
  /** Normalized search terms (never empty when present). */
  terms?: string[];
  /** Custom event name. */
  name?: string;
  /** Custom event properties (the last one wins if a key repeats). */
  props?: Record<string, string>;
}

/** A decoded batch. */
export interface DecodedBatch {
  /** Wire format version (1). */
  version: number;
  /** The shop's site id. */
  site: string;
  /** The random client id: 32 lower-case hex digits. */
  client: string;
  /** The session number on that client. */
  session: number;
  /** Events the client's outbox dropped (full) since its last delivered batch. */
  dropped: number;
  /** The events, in the order they happened. */
  events: DecodedEvent[];
}

/**
 * Thrown for malformed input, with the same message as the Rust decoders
 * (`codec::decode`, `codec_json::decode_json`). An `Error`.
 */
export declare class DecodeError extends Error {
  name: 'VitrinaDecodeError';
  /** Byte offset of the problem (JSON input only). */
  offset?: number;
}

/**
 * Decodes one batch. Bytes whose first non-whitespace byte is `{` are read as the
 * JSON format, other bytes as the binary format; a string is always JSON.
 *
 * Structural checks only (as the server's decoder): field values such as lengths,
 * ranges and required fields per kind are not validated here. Timestamps and prices
 * beyond 2^53 (never valid) lose precision as JS numbers.
 *
 * @throws {DecodeError} on malformed input.
 * @throws {TypeError} when `input` is neither bytes nor a string.
 */
export declare function decode(input: Uint8Array | ArrayBuffer | ArrayBufferView | string): DecodedBatch;
