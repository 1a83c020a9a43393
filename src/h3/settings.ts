/**
 * HTTP/3 SETTINGS (RFC 9114 §7.2.4) with the extensions we use: ENABLE_CONNECT_PROTOCOL
 * (RFC 9220 §3) and H3_DATAGRAM (RFC 9297 §2.1.1).
 *
 * Two levels: raw entries (`[id, value]` in wire order, the codec) and the typed
 * `H3Settings` view with defaults. Pure and sans-IO.
 */
import { Reader } from '../wire/reader.js';
import type { Writer } from '../wire/writer.js';
import { VARINT_MAX } from '../wire/varint.js';
import { H3Error, H3_FRAME_ERROR, H3_SETTINGS_ERROR } from './errors.js';

/** RFC 9204 §5 */
export const SETTINGS_QPACK_MAX_TABLE_CAPACITY = 0x01;
/** RFC 9114 §7.2.4.1 */
export const SETTINGS_MAX_FIELD_SECTION_SIZE = 0x06;
/** RFC 9204 §5 */
export const SETTINGS_QPACK_BLOCKED_STREAMS = 0x07;
/** RFC 9220 §5 */
export const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x08;
/** RFC 9297 §5.1 */
export const SETTINGS_H3_DATAGRAM = 0x33;

/** One setting as on the wire: [identifier, value]. */
export type SettingsEntry = [id: number, value: number];

/** The settings that matter to us, with RFC defaults for absent ones. */
export interface H3Settings {
  /** RFC 9204 §5, default 0 (no dynamic table). */
  qpackMaxTableCapacity: number;
  /** RFC 9204 §5, default 0. */
  qpackBlockedStreams: number;
  /** RFC 9114 §7.2.4.1, default unlimited (Infinity). Values ≥ 2^53 clamp to Infinity. */
  maxFieldSectionSize: number;
  /** RFC 9220 §3: the peer accepts extended CONNECT (`:protocol`). */
  enableConnectProtocol: boolean;
  /** RFC 9297 §2.1.1: the peer accepts HTTP Datagrams. */
  h3Datagram: boolean;
}

/** Defaults that apply before/without a SETTINGS frame (RFC 9114 §7.2.4.2). */
export const DEFAULT_SETTINGS: Readonly<H3Settings> = Object.freeze({
  qpackMaxTableCapacity: 0,
  qpackBlockedStreams: 0,
  maxFieldSectionSize: Infinity,
  enableConnectProtocol: false,
  h3Datagram: false,
});

/** HTTP/2 settings with no HTTP/3 counterpart (RFC 9114 §7.2.4.1, §11.2.2). */
function isHttp2OnlySetting(id: number): boolean {
  return id >= 0x02 && id <= 0x05;
}

/**
 * Decodes a SETTINGS payload into entries (unknown and grease ids kept, to be ignored).
 * Throws H3Error H3_FRAME_ERROR if it ends mid-entry (RFC 9114 §7.1), H3_SETTINGS_ERROR for
 * an HTTP/2-only id (§7.2.4.1), a duplicate id (§7.2.4 permits it) or a boolean setting
 * whose value is not 0/1 (RFC 9220 §3, RFC 9297 §2.1.1).
 */
export function parseSettingsPayload(payload: Uint8Array): SettingsEntry[] {
  const r = new Reader(payload);
  const out: SettingsEntry[] = [];
  const seen = new Set<number>();
  while (r.remaining > 0) {
    let id: number;
    let value: number;
    try {
      id = r.varint();
      value = r.varint();
    } catch (e) {
      throw new H3Error(H3_FRAME_ERROR, 'h3: SETTINGS payload ends mid-entry', true, { cause: e });
    }
    if (isHttp2OnlySetting(id)) throw new H3Error(H3_SETTINGS_ERROR, `h3: HTTP/2 setting 0x${id.toString(16)} received`);
    if (Number.isSafeInteger(id)) {
      if (seen.has(id)) throw new H3Error(H3_SETTINGS_ERROR, `h3: duplicate setting 0x${id.toString(16)}`);
      seen.add(id);
    }
    if ((id === SETTINGS_ENABLE_CONNECT_PROTOCOL || id === SETTINGS_H3_DATAGRAM) && value > 1) {
      throw new H3Error(H3_SETTINGS_ERROR, `h3: setting 0x${id.toString(16)} must be 0 or 1, got ${value}`);
    }
    out.push([id, value]);
  }
  return out;
}

/** Appends entries as a SETTINGS payload (no frame header). */
export function encodeSettingsPayload(w: Writer, entries: readonly SettingsEntry[]): void {
  for (const [id, value] of entries) w.varint(id).varint(value);
}

/** The typed view of received entries; unknown and grease ids are ignored (RFC 9114 §7.2.4). */
export function settingsFromEntries(entries: readonly SettingsEntry[]): H3Settings {
  const s: H3Settings = { ...DEFAULT_SETTINGS };
  for (const [id, value] of entries) {
    switch (id) {
      case SETTINGS_QPACK_MAX_TABLE_CAPACITY: s.qpackMaxTableCapacity = clamp(value); break;
      case SETTINGS_QPACK_BLOCKED_STREAMS: s.qpackBlockedStreams = clamp(value); break;
      case SETTINGS_MAX_FIELD_SECTION_SIZE: s.maxFieldSectionSize = value > Number.MAX_SAFE_INTEGER ? Infinity : value; break;
      case SETTINGS_ENABLE_CONNECT_PROTOCOL: s.enableConnectProtocol = value === 1; break;
      case SETTINGS_H3_DATAGRAM: s.h3Datagram = value === 1; break;
      default: break;
    }
  }
  return s;
}

/** Oversized limits are clamped, never rejected (STYLE.md §4). */
function clamp(v: number): number {
  return Math.min(v, Number.MAX_SAFE_INTEGER);
}

/**
 * The entries we send for `s`: non-default values only, booleans only when true, plus one
 * grease entry if `greaseId` is given (RFC 9114 §7.2.4.1: reserved ids exercise the
 * "ignore unknown" rule). Infinity for maxFieldSectionSize means "do not send".
 */
export function settingsToEntries(s: H3Settings, grease?: { id: number; value: number }): SettingsEntry[] {
  const out: SettingsEntry[] = [];
  if (s.qpackMaxTableCapacity > 0) out.push([SETTINGS_QPACK_MAX_TABLE_CAPACITY, s.qpackMaxTableCapacity]);
  if (s.qpackBlockedStreams > 0) out.push([SETTINGS_QPACK_BLOCKED_STREAMS, s.qpackBlockedStreams]);
  if (Number.isFinite(s.maxFieldSectionSize)) out.push([SETTINGS_MAX_FIELD_SECTION_SIZE, Math.min(s.maxFieldSectionSize, VARINT_MAX)]);
  if (s.enableConnectProtocol) out.push([SETTINGS_ENABLE_CONNECT_PROTOCOL, 1]);
  if (s.h3Datagram) out.push([SETTINGS_H3_DATAGRAM, 1]);
  if (grease) out.push([grease.id, grease.value]);
  return out;
}
