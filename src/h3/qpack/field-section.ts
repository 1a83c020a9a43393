/**
 * Decoding of one encoded field section (RFC 9204 §4.5): the prefix (§4.5.1) and the
 * field line representations (§4.5.2–§4.5.6). Pure functions over a complete block; the
 * caller (decoder.ts) owns blocking, acknowledgments and the table.
 *
 * Every failure is H3Error(QPACK_DECOMPRESSION_FAILED), a connection error (§2.2.3, §6).
 */
import { isMasqueError } from '../../core/errors.js';
import { H3Error, QPACK_DECOMPRESSION_FAILED } from '../errors.js';
import type { DynamicTable } from './dynamic-table.js';
import { ENTRY_OVERHEAD } from './dynamic-table.js';
import { type ByteCursor, readPrefixedInt } from './integer.js';
import { staticEntry } from './static-table.js';
import { readStringLiteral } from './string.js';
import type { FieldLine } from './types.js';

/** The decoded prefix of a field section (§4.5.1). */
export interface SectionPrefix {
  requiredInsertCount: number;
  base: number;
}

/** Result of decoding the field lines of a section. */
export interface DecodedLines {
  /** The field lines, or the ones decoded before the size limit was hit. */
  fields: FieldLine[];
  /** RFC 9114 §4.2.2 size: Σ(name + value + 32), counted over all lines. */
  sectionBytes: number;
  /** sectionBytes > the limit; `fields` is then incomplete and must not be used. */
  isOversize: boolean;
}

function fail(message: string, cause?: unknown): H3Error {
  return new H3Error(QPACK_DECOMPRESSION_FAILED, `qpack: ${message}`, true, cause === undefined ? undefined : { cause });
}

/**
 * Runs `fn`, turning codec errors (truncated integer, bad Huffman, …) into
 * QPACK_DECOMPRESSION_FAILED. H3Errors pass through.
 */
export function asDecompressionFailure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof H3Error) throw e;
    if (isMasqueError(e)) throw fail('malformed field section', e);
    throw e;
  }
}

/**
 * Required Insert Count from its encoded form (§4.5.1.1 algorithm). `maxEntries` =
 * floor(SETTINGS_QPACK_MAX_TABLE_CAPACITY / 32) — our advertised maximum, not the current
 * capacity; `totalInserts` = inserts received so far.
 */
export function decodeRequiredInsertCount(encoded: number, maxEntries: number, totalInserts: number): number {
  if (encoded === 0) return 0;
  const fullRange = 2 * maxEntries;
  if (encoded > fullRange) throw fail(`encoded Required Insert Count ${encoded} exceeds ${fullRange}`);
  const maxValue = totalInserts + maxEntries;
  const maxWrapped = Math.floor(maxValue / fullRange) * fullRange;
  let ric = maxWrapped + encoded - 1;
  if (ric > maxValue) {
    if (ric <= fullRange) throw fail('Required Insert Count wraps below zero');
    ric -= fullRange;
  }
  if (ric === 0) throw fail('Required Insert Count 0 encoded as non-zero');
  return ric;
}

/** Parses the prefix at `c.off` (advancing it). The block is complete: truncation fails. */
export function parseSectionPrefix(c: ByteCursor, maxEntries: number, totalInserts: number): SectionPrefix {
  return asDecompressionFailure(() => {
    const encodedRic = readPrefixedInt(c, 8);
    if (encodedRic < 0) throw fail('field section prefix truncated (Required Insert Count)');
    const requiredInsertCount = decodeRequiredInsertCount(encodedRic, maxEntries, totalInserts);
    if (c.off >= c.end) throw fail('field section prefix truncated (Base)');
    const isNegative = (c.buf[c.off] & 0x80) !== 0;
    const deltaBase = readPrefixedInt(c, 7);
    if (deltaBase < 0) throw fail('field section prefix truncated (Delta Base)');
    // §4.5.1.2: Base = RIC + Δ, or RIC − Δ − 1 with the sign bit; it must not be negative.
    const base = isNegative ? requiredInsertCount - deltaBase - 1 : requiredInsertCount + deltaBase;
    if (base < 0) throw fail(`negative Base (RIC ${requiredInsertCount}, sign 1, delta ${deltaBase})`);
    return { requiredInsertCount, base };
  });
}

/**
 * Decodes the field lines after the prefix, `c.off` to `c.end`. The table must hold
 * every entry below prefix.requiredInsertCount (the caller checks blocking first).
 *
 * Validation (QPACK_DECOMPRESSION_FAILED): static index out of range (§3.1); dynamic
 * reference evicted or ≥ Required Insert Count (§2.2.3); a Required Insert Count larger
 * than the largest referenced absolute index + 1 — §4.5.1.1 defines it as exactly that,
 * and a larger value could only make us block for nothing; truncation anywhere.
 *
 * Lines stop being kept once the §4.2.2 size passes `maxSectionBytes` (memory bound), but
 * parsing continues so a malformed tail is still a connection error.
 */
export function decodeFieldLines(
  c: ByteCursor,
  prefix: SectionPrefix,
  table: DynamicTable,
  maxSectionBytes: number,
): DecodedLines {
  return asDecompressionFailure(() => {
    const { requiredInsertCount: ric, base } = prefix;
    const fields: FieldLine[] = [];
    let sectionBytes = 0;
    let maxAbs = -1;
    const dynamic = (abs: number): FieldLine => {
      if (abs < 0 || abs >= ric) throw fail(`dynamic reference ${abs} outside Required Insert Count ${ric}`);
      const e = table.get(abs);
      if (e === undefined) throw fail(`dynamic reference ${abs} to an evicted entry`);
      if (abs > maxAbs) maxAbs = abs;
      return [e[0], e[1]]; // a copy: callers may mutate what we return, never the table
    };
    const fromStatic = (index: number): FieldLine => {
      const e = staticEntry(index);
      if (e === undefined) throw fail(`static index ${index} out of range`);
      return e;
    };
    while (c.off < c.end) {
      const line = readLine(c, base, dynamic, fromStatic);
      sectionBytes += line[0].length + line[1].length + ENTRY_OVERHEAD;
      if (sectionBytes <= maxSectionBytes) fields.push(line);
    }
    if (ric > 0 && maxAbs + 1 !== ric) {
      throw fail(`Required Insert Count ${ric} but largest reference is ${maxAbs}`);
    }
    return { fields, sectionBytes, isOversize: sectionBytes > maxSectionBytes };
  });
}

type Lookup = (index: number) => FieldLine;

function readLine(c: ByteCursor, base: number, dynamic: Lookup, fromStatic: Lookup): FieldLine {
  const b = c.buf[c.off];
  if (b & 0x80) {
    // §4.5.2 Indexed Field Line: 1 T index(6); dynamic index is relative to Base.
    const index = need(readPrefixedInt(c, 6));
    return b & 0x40 ? fromStatic(index) : dynamic(base - 1 - index);
  }
  if (b & 0x40) {
    // §4.5.4 Literal with Name Reference: 01 N T index(4) | H len(7) value
    const index = need(readPrefixedInt(c, 4));
    const name = (b & 0x10 ? fromStatic(index) : dynamic(base - 1 - index))[0];
    return [name, needString(readStringLiteral(c, 7))];
  }
  if (b & 0x20) {
    // §4.5.6 Literal with Literal Name: 001 N H len(3) name | H len(7) value
    const name = needString(readStringLiteral(c, 3));
    return [name, needString(readStringLiteral(c, 7))];
  }
  if (b & 0x10) {
    // §4.5.3 Indexed Field Line with Post-Base Index: 0001 index(4)
    return dynamic(base + need(readPrefixedInt(c, 4)));
  }
  // §4.5.5 Literal with Post-Base Name Reference: 0000 N index(3) | H len(7) value
  const name = dynamic(base + need(readPrefixedInt(c, 3)))[0];
  return [name, needString(readStringLiteral(c, 7))];
}

function need(v: number): number {
  if (v < 0) throw fail('field line truncated');
  return v;
}

function needString(s: string | null): string {
  if (s === null) throw fail('string literal truncated');
  return s;
}
