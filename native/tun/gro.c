/*
 * Coalescing TUN writes (part of the tun addon; tun.c registers writeArena).
 *
 * A TUN fd takes one packet per write(), and the kernel then routes that packet (NAT,
 * forwarding, the receiver's TCP stack in softirq) one at a time: on a loaded egress relay
 * that was ~45 % of the process (perf, docs/benchmarks.md). With IFF_VNET_HDR a write may
 * carry a virtio_net_hdr saying "this is a TCP super-segment, cut it into gso_size pieces":
 * the kernel then handles the whole run as one skb, like a NIC's GRO would have given it.
 * wireguard-go does the same on its TUN (tun_linux.go's GRO); this is our own, smaller take.
 *
 * Runs merged: consecutive packets of one TCP flow, IPv4 without options or IPv6 without
 * extension headers, flags ACK (PSH allowed; it ends the run), payload > 0, the next
 * sequence number exactly, the same ack, window, TTL/hop limit, TOS/traffic class and TCP
 * options byte for byte (timestamps, as Linux GRO requires), every segment but the last of
 * the first one's size, 64 KiB total at most. Anything else is written as it is.
 *
 *   writeArena(fd, buf: Uint8Array, lens: Int32Array, count, vnet: boolean, gro: boolean)
 *       -> packets the kernel took: fewer than count when its queue filled (EAGAIN: the rest
 *          were not written) or when it refused some (EINVAL…: those are dropped)
 *   Packets lie back to back in buf. vnet: the fd was opened with IFF_VNET_HDR (every write
 *   starts with a header). gro: merge runs (needs vnet). Headers of merged runs are rewritten
 *   in place in buf (lengths, IPv4 checksum, TCP pseudo-header sum): buf is the caller's
 *   scratch arena. A fatal error (EBADF, EIO when the link is down) throws.
 */
#include "gro.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include "csum.h"
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_RUN 64
#define MAX_SUPER 65535

typedef struct {
  int ip_hl, tcp_hl, payload;
  bool v6;
} seg_t;

/* A TCP segment that may take part in a run (see the header). */
static bool parse(const uint8_t* p, int len, seg_t* s) {
  if (len < 40) return false;
  if ((p[0] >> 4) == 4) {
    if ((p[0] & 0xf) != 5 || p[9] != 6 || rd16(p + 2) != len || (rd16(p + 6) & 0x3fff)) return false;
    s->ip_hl = 20;
    s->v6 = false;
  } else if ((p[0] >> 4) == 6) {
    if (len < 60 || p[6] != 6 || rd16(p + 4) + 40 != len) return false;
    s->ip_hl = 40;
    s->v6 = true;
  } else {
    return false;
  }
  const uint8_t* t = p + s->ip_hl;
  int thl = (t[12] >> 4) * 4;
  if (thl < 20 || s->ip_hl + thl >= len) return false;
  uint8_t fl = t[13];
  if (!(fl & 0x10) || (fl & ~0x18)) return false; /* ACK, maybe PSH; nothing else */
  s->tcp_hl = thl;
  s->payload = len - s->ip_hl - thl;
  return true;
}

/* Does b continue the run headed by a (whose bytes so far end at sequence number next)? */
static bool follows(const uint8_t* a, const seg_t* sa, const uint8_t* b, const seg_t* sb, uint32_t next) {
  if (sa->v6 != sb->v6 || sa->tcp_hl != sb->tcp_hl) return false;
  if (!sa->v6) {
    if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40) || memcmp(a + 12, b + 12, 8)) return false;
  } else if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32)) {
    return false;
  }
  const uint8_t* ta = a + sa->ip_hl;
  const uint8_t* tb = b + sb->ip_hl;
  return !memcmp(ta, tb, 4) && rd32(tb + 4) == next && !memcmp(ta + 8, tb + 8, 4) &&
         !memcmp(ta + 14, tb + 14, 2) && !memcmp(ta + 20, tb + 20, (size_t)sa->tcp_hl - 20);
}

/* Rewrites the head of a run to describe the whole run and fills its virtio_net_hdr. */
static void make_super(uint8_t* h, const seg_t* s, int total_payload, bool psh, struct virtio_net_hdr* vh) {
  int tcp_len = s->tcp_hl + total_payload;
  uint8_t* t = h + s->ip_hl;
  uint32_t ps;
  if (!s->v6) {
    wr16(h + 2, (uint32_t)(s->ip_hl + tcp_len));
    h[10] = h[11] = 0;
    wr16(h + 10, (uint16_t)~fold(sum16(0, h, 20)));
    ps = sum16(0, h + 12, 8);
  } else {
    wr16(h + 4, (uint32_t)tcp_len);
    ps = sum16(0, h + 8, 32);
  }
  if (psh) t[13] |= 0x08;
  /* CHECKSUM_PARTIAL: the checksum field holds the pseudo-header sum, not complemented;
   * the kernel adds the segment bytes when it cuts the run (RFC 793 pseudo-header). */
  ps += 6 + (uint32_t)tcp_len;
  wr16(t + 16, fold(ps));
  memset(vh, 0, sizeof *vh);
  vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vh->gso_type = s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
  vh->hdr_len = (uint16_t)(s->ip_hl + s->tcp_hl);
  vh->gso_size = (uint16_t)s->payload;
  vh->csum_start = (uint16_t)s->ip_hl;
  vh->csum_offset = 16;
}

/* One writev; returns 0, or the errno (EAGAIN: stop; others: this write is dropped). */
static int put(int fd, struct iovec* iov, int n) {
  for (;;) {
    if (writev(fd, iov, n) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

/* Returns the packets the kernel took, or -errno for an error that is not about one packet. */
int tun_write_arena(int fd, uint8_t* buf, size_t buf_len, const int32_t* lens, int count, bool vnet, bool gro) {
  static const struct virtio_net_hdr zero;
  struct virtio_net_hdr vh;
  struct iovec iov[MAX_RUN + 1];
  size_t off = 0;
  int i = 0;
  int refused = 0;
  while (i < count) {
    int len = lens[i];
    if (len < 0 || off + (size_t)len > buf_len) return -EINVAL;
    uint8_t* p = buf + off;
    seg_t s;
    int n = 1; /* packets in this write */
    size_t end = off + (size_t)len;
    int niov = 0;
    if (vnet) iov[niov++] = (struct iovec){(void*)&zero, sizeof zero};
    iov[niov++] = (struct iovec){p, (size_t)len};
    if (gro && vnet && parse(p, len, &s) && !(p[s.ip_hl + 13] & 0x08)) {
      int total = s.payload;
      uint32_t next = rd32(p + s.ip_hl + 4) + (uint32_t)s.payload;
      bool psh = false;
      int last = s.payload;
      while (i + n < count && n < MAX_RUN && last == s.payload && !psh) {
        int blen = lens[i + n];
        if (blen < 0 || end + (size_t)blen > buf_len) break;
        uint8_t* b = buf + end;
        seg_t sb;
        if (!parse(b, blen, &sb) || sb.payload > s.payload || !follows(p, &s, b, &sb, next)) break;
        if (s.ip_hl + s.tcp_hl + total + sb.payload > MAX_SUPER) break;
        iov[niov++] = (struct iovec){b + sb.ip_hl + sb.tcp_hl, (size_t)sb.payload};
        total += sb.payload;
        next += (uint32_t)sb.payload;
        psh = (b[sb.ip_hl + 13] & 0x08) != 0;
        last = sb.payload;
        end += (size_t)blen;
        n++;
      }
      if (n > 1) {
        make_super(p, &s, total, psh, &vh);
        iov[0] = (struct iovec){&vh, sizeof vh};
      }
    }
    int e = put(fd, iov, niov);
    if (e == EAGAIN) return i - refused;
    if (e == EBADF || e == EIO || e == EFAULT) return -e;
    /* other errors (EINVAL for a packet the kernel refuses): those packets are dropped */
    if (e != 0) refused += n;
    i += n;
    off = end;
  }
  return i - refused;
}
