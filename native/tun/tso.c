/*
 * TSO reads (see tso.h). A TUN that offers TSO4/TSO6 and checksum offload gets a local TCP
 * sender's data as super-segments of up to gso_max_segs segments, so one read() replaces
 * up to that many, and the kernel skips its own software segmentation. Each segment is
 * rebuilt like tcp_gso_segment does: the headers are copied, then per segment the IPv4 total
 * length, ID (+1 per segment) and header checksum, or the IPv6 payload length; the TCP
 * sequence number; CWR only on the first segment, FIN and PSH only on the last; and the full
 * TCP checksum (pseudo-header, RFC 9293 §3.1 / RFC 8200 §8.1). UDP super-segments (USO, a
 * sender's UDP_SEGMENT) are cut the same way into datagrams of gso_size bytes, each with its
 * own UDP length and checksum (RFC 768), as __udp_gso_segment does.
 */
#include "tso.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csum.h"

/* gso_max_segs through rtnetlink (RTM_NEWLINK + IFLA_GSO_MAX_SEGS), in the caller's network
 * namespace; 0 or an errno. */
static int set_gso_max_segs(const char* ifname, uint32_t segs) {
  unsigned idx = if_nametoindex(ifname);
  if (!idx) return errno;
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return errno;
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
    struct rtattr rta;
    uint32_t segs;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_NEWLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = (int)idx;
  req.rta.rta_type = IFLA_GSO_MAX_SEGS;
  req.rta.rta_len = RTA_LENGTH(sizeof(uint32_t));
  req.segs = segs;
  int err = 0;
  if (send(s, &req, sizeof req, 0) < 0) {
    err = errno;
  } else {
    union {
      struct nlmsghdr nh;
      char buf[512];
    } ack;
    ssize_t k = recv(s, &ack, sizeof ack, 0);
    if (k < 0) err = errno;
    else if (k >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && ack.nh.nlmsg_type == NLMSG_ERROR)
      err = -((struct nlmsgerr*)NLMSG_DATA(&ack.nh))->error;
    else err = EPROTO;
  }
  close(s);
  return err;
}

int tso_enable(int fd, const char* ifname, uint32_t max_segs, bool* uso) {
  /* The cap first: TCP sockets read it when they pick their route, and the reader keeps
   * room for this many segments in its batch. */
  int err = set_gso_max_segs(ifname, max_segs);
  if (err) return err;
  const unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  /* USO (UDP_SEGMENT sends, e.g. QUIC stacks) came with Linux 6.2; older kernels refuse the
   * flags with EINVAL, and then we take TSO alone. */
  *uso = ioctl(fd, TUNSETOFFLOAD, tso | TUN_F_USO4 | TUN_F_USO6) == 0;
  if (!*uso && ioctl(fd, TUNSETOFFLOAD, tso) < 0) return errno;
  return 0;
}

/* The IP header's length and the transport protocol (6 TCP, 17 UDP), or -1. IPv6 extension
 * headers we step over: hop-by-hop options (0) and destination options (60). A routing header
 * would change the pseudo-header's destination: not cut (dropped). */
static int ip_header_len(const uint8_t* p, size_t len, bool* v6, uint8_t* proto) {
  if (len < 20) return -1;
  if ((p[0] >> 4) == 4) {
    int hl = (p[0] & 0xf) * 4;
    *v6 = false;
    *proto = p[9];
    return hl >= 20 && (size_t)hl <= len ? hl : -1;
  }
  if ((p[0] >> 4) != 6 || len < 40) return -1;
  *v6 = true;
  size_t hl = 40;
  uint8_t nh = p[6];
  while (nh == 0 || nh == 60) {
    if (hl + 8 > len) return -1;
    nh = p[hl];
    hl += ((size_t)p[hl + 1] + 1) * 8;
  }
  *proto = nh;
  return hl <= len ? (int)hl : -1;
}

/* What stays the same for every segment of one super-segment. */
typedef struct {
  int ip_hl, l4_hl;
  bool v6, udp;
  uint32_t seq0, mss;
  uint16_t id0;
  uint8_t flags0;
  size_t total; /* segments in the whole super-segment */
} cut_t;

/* Rewrites the headers at p for segment i (its payload bytes follow the headers). */
static void fix_segment(uint8_t* p, const cut_t* c, size_t payload, int i) {
  uint8_t* t = p + c->ip_hl;
  size_t l4_len = (size_t)c->l4_hl + payload;
  uint8_t proto = c->udp ? 17 : 6;
  uint8_t pseudo[40];
  size_t pn;
  if (!c->v6) {
    wr16(p + 2, (uint32_t)((size_t)c->ip_hl + l4_len));
    wr16(p + 4, (uint32_t)(c->id0 + i));
    p[10] = p[11] = 0;
    wr16(p + 10, (uint16_t)~fold(sum16(0, p, (size_t)c->ip_hl)));
    memcpy(pseudo, p + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = proto;
    wr16(pseudo + 10, (uint32_t)l4_len);
    pn = 12;
  } else {
    wr16(p + 4, (uint32_t)((size_t)c->ip_hl - 40 + l4_len));
    memcpy(pseudo, p + 8, 32);
    wr32(pseudo + 32, (uint32_t)l4_len);
    pseudo[36] = pseudo[37] = pseudo[38] = 0;
    pseudo[39] = proto;
    pn = 40;
  }
  size_t csum_at;
  if (c->udp) {
    wr16(t + 4, (uint32_t)l4_len);
    csum_at = 6;
  } else {
    wr32(t + 4, c->seq0 + (uint32_t)i * c->mss);
    uint8_t f = c->flags0;
    if (i > 0) f &= (uint8_t)~0x80; /* CWR */
    if ((size_t)i != c->total - 1) f &= (uint8_t)~0x09; /* FIN, PSH */
    t[13] = f;
    csum_at = 16;
  }
  t[csum_at] = t[csum_at + 1] = 0;
  uint64_t sum = csum_add(0, pseudo, pn);
  sum = csum_add(sum, t, l4_len);
  uint16_t v = (uint16_t)~csum_fold_be(sum);
  /* UDP: a computed 0 is sent as 0xffff, since 0 means "no checksum" (RFC 768). */
  wr16(t + csum_at, c->udp && v == 0 ? 0xffff : v);
}

int tso_segment(uint8_t* pkt, size_t len, const struct virtio_net_hdr* vh, size_t stride, size_t cap, int max, int32_t* lens) {
  cut_t c = {0};
  uint8_t proto = 0;
  c.ip_hl = ip_header_len(pkt, len, &c.v6, &proto);
  uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
  c.udp = type == VIRTIO_NET_HDR_GSO_UDP_L4;
  bool ok = c.udp ? proto == 17 : proto == 6 && type == (c.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
  if (c.ip_hl < 0 || !ok) return -1;
  /* The IP length must match what was read: a read into a short buffer truncates silently. */
  if ((size_t)c.ip_hl + (c.udp ? 8 : 20) > len || (c.v6 ? (size_t)rd16(pkt + 4) + 40 : rd16(pkt + 2)) != len) return -1;
  c.l4_hl = c.udp ? 8 : (pkt[c.ip_hl + 12] >> 4) * 4;
  size_t hl = (size_t)c.ip_hl + (size_t)c.l4_hl;
  size_t mss = vh->gso_size;
  if (c.l4_hl < (c.udp ? 8 : 20) || hl >= len || mss == 0 || hl + mss > cap || max < 1) return -1;
  size_t payload = len - hl;
  c.total = (payload + mss - 1) / mss;
  int n = c.total > (size_t)max ? max : (int)c.total;
  const uint8_t* t = pkt + c.ip_hl;
  c.seq0 = c.udp ? 0 : rd32(t + 4);
  c.mss = (uint32_t)mss;
  c.id0 = c.v6 ? 0 : rd16(pkt + 4);
  c.flags0 = c.udp ? 0 : t[13];
  /* The copies read segment 0's original headers and the payload behind them, so segment 0
   * is rewritten last. */
  for (int i = n - 1; i >= 0; i--) {
    size_t off = hl + (size_t)i * mss;
    size_t chunk = len - off < mss ? len - off : mss;
    uint8_t* dst = pkt + (size_t)i * stride;
    if (i > 0) {
      memcpy(dst, pkt, hl);
      memcpy(dst + hl, pkt + off, chunk);
    }
    fix_segment(dst, &c, chunk, i);
    lens[i] = (int32_t)(hl + chunk);
  }
  return n;
}

bool tso_complete_csum(uint8_t* pkt, size_t len, const struct virtio_net_hdr* vh) {
  size_t start = vh->csum_start;
  size_t at = start + vh->csum_offset;
  if (start >= len || at + 2 > len) return false;
  uint16_t c = (uint16_t)~csum_fold_be(csum_add(0, pkt + start, len - start));
  /* As skb_checksum_help: a computed 0 goes out as 0xffff (the same value in one's
   * complement; UDP reads a zero field as "no checksum", RFC 768). */
  wr16(pkt + at, c ? c : 0xffff);
  return true;
}
