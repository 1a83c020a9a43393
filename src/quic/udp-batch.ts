/**
 * Batched UDP sends for UdpPath through our own addon in native/udp: one `sendmmsg(2)` per
 * batch instead of one `dgram.send` per packet (FACTS.md: ~40 % of CPU is napi marshalling,
 * ~20 % syscalls; Node 20's dgram has no sendmmsg, and `send([a, b])` is ONE datagram).
 * Optionally runs of equal-size packets to one destination go out as one UDP GSO send.
 *
 * Everything degrades to Node's own send: no addon (not built, not Linux, MASQUE_UDP_BATCH=0),
 * no fd (a future Node hides it) → UdpPath never creates a batch; EAGAIN, a host that is not
 * an IP literal, a packet larger than the batch buffer, or packets still queued inside
 * dgram → those packets go through `sock.send` (so order is kept and we never block or spin).
 */
import { createRequire } from 'node:module';
import type dgram from 'node:dgram';
import { TurnFlush } from '../core/turn-flush.js';
import type { HostPort } from './path.js';

/** The addon's surface (native/udp/udp.c has the full contract). */
export interface UdpBatchAddon {
  /** Sends packets back to back in buf (lengths in lens); returns how many were consumed. */
  send(fd: number, buf: Uint8Array, lens: Int32Array, count: number, addrs: Uint8Array | null,
    gso: boolean, state: Int32Array): number;
  /** Writes the sockaddr of an IP literal into out[offset, offset + ADDR_SLOT); false if not a literal. */
  sockaddr(host: string, port: number, out: Uint8Array, offset: number): boolean;
  readonly ADDR_SLOT: number;
  /** A stopped libuv timer that calls cb when it fires (native/udp/timer.c). */
  timerCreate(cb: () => void): NativeTimer;
  /** (Re)arms it ms from now; an active timer is moved, earlier or later. */
  timerStart(t: NativeTimer, ms: number): void;
  timerStop(t: NativeTimer): void;
  /** Idempotent; start and stop on a closed timer are no-ops. */
  timerClose(t: NativeTimer): void;
  /** The scramble transform of QUIC-aware forwarding (native/udp/scramble.c); absent in older builds. */
  scrambleKey?(key: Uint8Array): NativeScramble;
  /** In place; false when pkt has fewer than 16 bytes after its cidLen-byte DCID. */
  scramble?(ctx: NativeScramble, pkt: Uint8Array, cidLen: number, decode: boolean): boolean;
}

/** An opaque handle from UdpBatchAddon.scrambleKey (two AES keys' contexts). */
export type NativeScramble = { readonly __brand: 'NativeScramble' };

/** An opaque handle from UdpBatchAddon.timerCreate. */
export type NativeTimer = { readonly __brand: 'NativeTimer' };

let addon: UdpBatchAddon | null | undefined;

/**
 * Loads native/udp/build/Release/udp.node (MASQUE_UDP_ADDON overrides the path), or returns
 * undefined: not Linux, not built, or disabled with MASQUE_UDP_BATCH=0 (checked on every call,
 * so tests and operators can switch it off without a rebuild). Never throws.
 */
export function loadUdpBatchAddon(): UdpBatchAddon | undefined {
  if (process.env.MASQUE_UDP_BATCH === '0' || process.platform !== 'linux') return undefined;
  if (addon !== undefined) return addon ?? undefined;
  // dist/src/quic/udp-batch.js → repository root is three levels up.
  const path = process.env.MASQUE_UDP_ADDON ??
    new URL('../../../native/udp/build/Release/udp.node', import.meta.url).pathname;
  try {
    addon = createRequire(import.meta.url)(path) as UdpBatchAddon;
  } catch {
    addon = null; // not built: today's per-packet path
  }
  return addon ?? undefined;
}

/**
 * dgram's internal state object (its libuv handle lives there), or undefined. Read through
 * the state symbol, not `sock._handle`, whose getter prints a deprecation warning (DEP0112).
 */
export function dgramState(sock: dgram.Socket): unknown {
  for (const s of Object.getOwnPropertySymbols(sock)) {
    if (s.description === 'state symbol') return (sock as unknown as Record<symbol, unknown>)[s];
  }
  return undefined;
}

/** The OS fd of a bound dgram socket, or undefined (Linux only). */
export function socketFd(sock: dgram.Socket): number | undefined {
  const fd = (dgramState(sock) as { handle?: { fd?: unknown } } | undefined)?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export interface UdpSendBatchOptions {
  /** The socket is connected: packets carry no address. */
  connected: boolean;
  /** Packets per batch before an early flush (default 64). */
  maxPackets?: number;
  /** Bytes of the batch buffer (default maxPackets × 1500); a fuller batch is flushed first. */
  maxBytes?: number;
  /** Coalesce runs of equal-size packets to one destination with UDP_SEGMENT (default false). */
  gso?: boolean;
  /** Called with the number of send errors after each flush that saw some (may close the batch). */
  onErrors: (n: number) => void;
  /** Queue in this shared buffer instead of one of our own (maxPackets/maxBytes then come from it). */
  arena?: UdpSendArena;
}

/**
 * One send buffer for many sockets that are flushed one at a time: a relay's CONNECT-UDP
 * sessions each own a connected socket, but a read pass of one client connection queues for
 * one of them at a time. A batch that starts queueing flushes the previous owner first, so
 * order per socket is kept and a thousand sessions cost one buffer, not a thousand.
 */
export class UdpSendArena {
  readonly buf: Buffer;
  readonly lens: Int32Array;
  /** @internal The batch whose packets are in buf (at most one). */
  owner: UdpSendBatch | null = null;

  constructor(maxPackets = 64, maxBytes = maxPackets * 1500) {
    this.buf = Buffer.allocUnsafe(maxBytes);
    this.lens = new Int32Array(maxPackets);
  }

  /** Hands the owner's queued packets to the kernel. */
  flush(): void {
    this.owner?.flush();
  }
}

/** Distinct destinations remembered (parsed once each); the cache is dropped when full. */
const MAX_DESTS = 4096;

/**
 * One socket's pending batch. Buffer ownership: `push()` copies the packet into the batch's own
 * preallocated buffer before it returns (the caller may reuse pkt at once); that buffer is only
 * rewritten after the batch has been handed to the kernel, or to `sock.send` as a fresh copy.
 */
export class UdpSendBatch {
  private readonly buf: Buffer;
  private readonly lens: Int32Array;
  /** One sockaddr slot per packet (unconnected sockets only). */
  private readonly addrs: Uint8Array | null;
  /** The packets' destinations, kept only for the dgram fallback (none on a connected socket). */
  private readonly dests: Array<HostPort | undefined> | null;
  private readonly state = new Int32Array(3);
  private readonly maxPackets: number;
  private readonly slot: number;
  private gso: boolean;
  private count = 0;
  private bytes = 0;
  /** In case nobody calls flush() this turn (the endpoint does after every burst). */
  private readonly safety = new TurnFlush(() => {
    if (!this.isClosed) this.flush();
  });
  /** Packets given to dgram.send whose callback has not run yet. */
  private pendingDgram = 0;
  private isClosed = false;
  /** host → port → preparsed sockaddr. */
  private readonly destCache = new Map<string, Map<number, Uint8Array>>();
  private lastHost = '';
  private lastPort = -1;
  private lastSockaddr: Uint8Array | undefined;

  constructor(private readonly sock: dgram.Socket, private readonly fd: number,
    private readonly addon: UdpBatchAddon, private readonly opts: UdpSendBatchOptions) {
    const arena = opts.arena;
    this.maxPackets = arena?.lens.length ?? opts.maxPackets ?? 64;
    this.buf = arena?.buf ?? Buffer.allocUnsafe(opts.maxBytes ?? this.maxPackets * 1500);
    this.lens = arena?.lens ?? new Int32Array(this.maxPackets);
    this.slot = addon.ADDR_SLOT;
    this.addrs = opts.connected ? null : new Uint8Array(this.maxPackets * this.slot);
    this.dests = opts.connected ? null : new Array(this.maxPackets);
    this.gso = opts.gso ?? false;
  }

  /**
   * Queues a copy of pkt (to `to`, ignored on a connected socket). Returns false when the
   * packet cannot be batched (bigger than the buffer, host not an IP literal): the caller
   * then calls flush() and sends it itself, which keeps the order.
   */
  push(pkt: Uint8Array, to: HostPort | undefined): boolean {
    const len = pkt.length;
    if (len > this.buf.length || this.isClosed) return false;
    let sa: Uint8Array | undefined;
    if (this.addrs !== null) {
      sa = this.sockaddrOf(to!);
      if (sa === undefined) return false;
    }
    const arena = this.opts.arena;
    if (arena !== undefined && arena.owner !== this) {
      arena.owner?.flush(); // its packets go out before the buffer is ours
      arena.owner = this;
    }
    if (this.count === this.maxPackets || this.bytes + len > this.buf.length) this.flush();
    const i = this.count;
    this.buf.set(pkt, this.bytes);
    this.lens[i] = len;
    if (sa !== undefined) this.addrs!.set(sa, i * this.slot);
    if (this.dests !== null) this.dests[i] = to;
    this.count = i + 1;
    this.bytes += len;
    this.safety.arm();
    return true;
  }

  /** Hands everything queued to the kernel (or, for what it refuses with EAGAIN, to dgram). */
  flush(): void {
    const n = this.count;
    if (n === 0) return;
    this.safety.cancel();
    let sent = 0;
    let errs = 0;
    // Packets handed to dgram earlier (EAGAIN) may still wait in its lookup or libuv's queue:
    // later packets join them there, or they would overtake.
    if (this.pendingDgram === 0) {
      try {
        sent = this.addon.send(this.fd, this.buf, this.lens, n, this.addrs, this.gso, this.state);
      } catch {
        sent = 0; // a bad argument is our bug; the packets still go out through dgram below
      }
      if (this.state[2] !== 0) this.gso = false; // the kernel/device refused GSO: stop asking
      errs = this.state[0]!;
      this.state.fill(0);
    }
    let off = 0;
    for (let i = 0; i < sent; i++) off += this.lens[i]!;
    for (let i = sent; i < n; i++) {
      const len = this.lens[i]!;
      this.dgramSend(this.buf.subarray(off, off + len), this.dests?.[i]);
      off += len;
    }
    this.count = 0;
    this.bytes = 0;
    const arena = this.opts.arena;
    if (arena !== undefined && arena.owner === this) arena.owner = null;
    // Last: the handler may close this batch (a relay session whose target is gone).
    if (errs !== 0) this.opts.onErrors(errs);
  }

  /** For a packet push() refused: flushes the batch, then sends a copy of pkt through dgram. */
  sendDirect(pkt: Uint8Array, to: HostPort | undefined): void {
    this.flush();
    this.dgramSend(pkt, to);
  }

  /** Flushes, then drops the batch; later pushes are refused. */
  close(): void {
    this.flush();
    this.isClosed = true;
  }

  /**
   * One packet through Node's queue, as its own copy (our buffer is reused at once). Tracked
   * until dgram reports it done; with a callback dgram reports errors there, not as 'error'.
   */
  private dgramSend(pkt: Uint8Array, to: HostPort | undefined): void {
    const copy = Buffer.from(pkt);
    this.pendingDgram++;
    if (this.addrs === null || to === undefined) this.sock.send(copy, this.onDgramSent);
    else this.sock.send(copy, to.port, to.host, this.onDgramSent);
  }

  private readonly onDgramSent = (err: Error | null): void => {
    this.pendingDgram--;
    if (err) this.opts.onErrors(1);
  };

  /** The sockaddr for a destination, parsed once; undefined if host is not an IP literal. */
  private sockaddrOf(to: HostPort): Uint8Array | undefined {
    if (to.port === this.lastPort && to.host === this.lastHost) return this.lastSockaddr;
    let ports = this.destCache.get(to.host);
    let sa = ports?.get(to.port);
    if (sa === undefined) {
      sa = new Uint8Array(this.slot);
      if (!this.addon.sockaddr(to.host, to.port, sa, 0)) return undefined;
      if (this.destCache.size >= MAX_DESTS) this.destCache.clear();
      if (ports === undefined) {
        ports = new Map();
        this.destCache.set(to.host, ports);
      }
      ports.set(to.port, sa);
    }
    this.lastHost = to.host;
    this.lastPort = to.port;
    this.lastSockaddr = sa;
    return sa;
  }
}
