/**
 * IP address text ⇄ bytes without node:net (wire/ stays sans-IO). Parsing accepts dotted
 * IPv4 and IPv6 with `::` compression and an embedded dotted quad as the last piece only
 * (RFC 4291 §2.2 form 3: `1.2.3.4::1` and `1.2.3.4::` are refused, not guessed at);
 * formatting writes IPv6 in the RFC 5952 §4 canonical form. Returns `null` for bad text.
 */

/**
 * `"192.0.2.1"` → 4 bytes, `"2001:db8::1"` → 16 bytes, anything else → null. The bytes are
 * a fresh array owned by the caller. No trimming, brackets or zone IDs (`%eth0`): callers
 * that take those strip them first.
 */
export function parseIpAddress(text: string): Uint8Array | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    // No leading zeros: "010" is octal in some parsers, so refuse the ambiguity.
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i])) return null;
    const v = Number(parts[i]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const words = (s: string, isDottedEndAllowed: boolean): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const groups = s.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (isDottedEndAllowed && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = words(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? words(halves[1], true) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** 4 or 16 bytes at `buf[off]` → text (RFC 5952 canonical for IPv6). */
export function formatIpAddress(buf: Uint8Array, off = 0, len: 4 | 16 = buf.length - off === 4 ? 4 : 16): string {
  if (len === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  // RFC 5952 §5: an IPv4-mapped address keeps its dotted quad (::ffff:192.0.2.1), as Node's
  // dgram reports the sources of a dual-stack socket: both receive paths then name a peer alike.
  let isMapped = buf[off + 10] === 0xff && buf[off + 11] === 0xff;
  for (let i = 0; i < 10 && isMapped; i++) isMapped = buf[off + i] === 0;
  if (isMapped) return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1]);
  // RFC 5952 §4.2: compress the longest run (first if tied) of ≥ 2 zero groups.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(w);
  return `${hex(w.slice(0, bestAt))}::${hex(w.slice(bestAt + bestLen))}`;
}
