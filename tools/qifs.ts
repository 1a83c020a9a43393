/**
 * Offline QPACK interop: decodes one qpackers/qifs encoded file and prints its header
 * lists in QIF form (see test/fixtures/qifs/FORMAT.md).
 *
 *   node dist/tools/qifs.js FILE T B      (npm run qifs -- FILE T B)
 *
 * T = SETTINGS_QPACK_MAX_TABLE_CAPACITY, B = SETTINGS_QPACK_BLOCKED_STREAMS the file was
 * encoded for. The current capacity is preset to T because the corpus encoders predate
 * RFC 9204 §3.2.3 (table starts at 0). Output: one `name<TAB>value` line per field, a
 * blank line after each list, lists sorted by stream id. Exit 1 with the error code on
 * stderr when decoding fails.
 *
 * The helpers are exported for the tests; main() runs only when executed directly.
 */
import { readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { pathToFileURL } from 'node:url';
import { isMasqueError, MasqueError } from '../src/core/errors.js';
import { QpackDecoder } from '../src/h3/qpack/decoder.js';
import type { FieldLine } from '../src/h3/qpack/types.js';

/** One framed block: stream 0 = encoder stream bytes, others = one field section. */
export interface QifsBlock {
  streamId: number;
  data: Uint8Array;
}

/** Splits a qifs encoded file into blocks (64-bit stream id, 32-bit length, data). */
export function parseQifsFrames(file: Uint8Array): QifsBlock[] {
  const blocks: QifsBlock[] = [];
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let off = 0;
  while (off < file.length) {
    if (file.length - off < 12) throw new MasqueError('ERR_QIFS_FRAMING', `qifs: truncated block header at ${off}`);
    const hi = view.getUint32(off);
    const lo = view.getUint32(off + 4);
    const len = view.getUint32(off + 8);
    if (hi >= 2 ** 21) throw new MasqueError('ERR_QIFS_FRAMING', `qifs: stream id too large at ${off}`);
    off += 12;
    if (file.length - off < len) throw new MasqueError('ERR_QIFS_FRAMING', `qifs: truncated block at ${off}`);
    blocks.push({ streamId: hi * 2 ** 32 + lo, data: file.subarray(off, off + len) });
    off += len;
  }
  return blocks;
}

/**
 * Decodes all blocks with a decoder configured for T and B; returns the header lists
 * sorted by stream id. Throws the decoder's H3Error, or ERR_QIFS_INCOMPLETE when
 * sections stay blocked or the encoder stream ends mid-instruction.
 */
export function decodeQifs(file: Uint8Array, maxTableCapacity: number, maxBlockedStreams: number): Array<{ streamId: number; fields: FieldLine[] }> {
  const dec = new QpackDecoder({ maxTableCapacity, maxBlockedStreams });
  if (maxTableCapacity > 0) dec.presetCapacity(maxTableCapacity);
  const out: Array<{ streamId: number; fields: FieldLine[] }> = [];
  for (const { streamId, data } of parseQifsFrames(file)) {
    if (streamId === 0) {
      dec.feedEncoderStream(data);
      for (const u of dec.takeUnblocked()) {
        if (u.error !== undefined) throw u.error;
        out.push(u);
      }
    } else {
      const fields = dec.decodeFieldSection(streamId, data);
      if (fields !== null) out.push({ streamId, fields });
    }
    dec.takeDecoderStreamBytes(); // the corpus has no decoder stream; drain and drop
  }
  if (dec.blockedStreamCount > 0) {
    throw new MasqueError('ERR_QIFS_INCOMPLETE', `qifs: ${dec.blockedStreamCount} streams still blocked at end of file`);
  }
  if (dec.hasPartialEncoderInstruction) {
    throw new MasqueError('ERR_QIFS_INCOMPLETE', 'qifs: encoder stream ends inside an instruction');
  }
  return out.sort((a, b) => a.streamId - b.streamId);
}

/** QIF text: `name\tvalue` lines, a blank line after each list (latin1). */
export function formatQif(lists: FieldLine[][]): string {
  return lists.map((fields) => fields.map(([n, v]) => `${n}\t${v}\n`).join('') + '\n').join('');
}

/** Parses QIF text (latin1): skips `#` comment lines; a blank line ends a list. */
export function parseQif(text: string): FieldLine[][] {
  const lists: FieldLine[][] = [];
  let cur: FieldLine[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line === '') {
      if (cur.length > 0) lists.push(cur);
      cur = [];
      continue;
    }
    const tab = line.indexOf('\t');
    cur.push(tab < 0 ? [line, ''] : [line.slice(0, tab), line.slice(tab + 1)]);
  }
  if (cur.length > 0) lists.push(cur);
  return lists;
}

function main(argv: string[]): number {
  const [file, t, b] = argv;
  if (file === undefined || !/^\d+$/.test(t ?? '') || !/^\d+$/.test(b ?? '')) {
    process.stderr.write('usage: qifs FILE T B\n');
    return 2;
  }
  try {
    const lists = decodeQifs(readFileSync(file), Number(t), Number(b));
    process.stdout.write(Buffer.from(formatQif(lists.map((l) => l.fields)), 'latin1'));
    return 0;
  } catch (e) {
    if (!isMasqueError(e)) throw e;
    process.stderr.write(`${e.code}: ${e.message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
