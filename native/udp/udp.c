/*
 * masque-relay UDP batch addon (Linux): send many datagrams with one sendmmsg(2) call,
 * optionally coalescing runs of equal-size datagrams to one destination with UDP GSO
 * (UDP_SEGMENT); receive with recvmmsg(2) in recv.c; a movable libuv timer in timer.c for the
 * QUIC endpoint; the scramble transform of QUIC-aware forwarding in scramble.c. Plain
 * node_api.h, no node-addon-api;
 * same style as native/tun.
 *
 * Why: Node 20's dgram has no sendmmsg, and each `socket.send()` costs a napi crossing, a
 * request object and a syscall (measured with the raw quiche driver: ~40 % of CPU is napi marshalling, ~20 % syscalls;
 * profiles show dgram's doSend at 10-30 %). Here one JS→C call per batch carries everything
 * in flat, preallocated memory: one Buffer of packets back to back, an Int32Array of their
 * lengths, and (unconnected sockets) one preparsed sockaddr per packet — no strings, no
 * objects, nothing parsed per packet.
 *
 * The socket is Node's own (its fd, read from the dgram handle). We never block and never
 * spin: every call uses MSG_DONTWAIT, and on EAGAIN we return how many packets went out so
 * JS can hand the rest to Node's dgram send (which queues and waits for POLLOUT in libuv).
 *
 * JS-visible functions (synchronous):
 *   send(fd, buf: Uint8Array, lens: Int32Array, count, addrs: Uint8Array|null, gso: boolean,
 *        state: Int32Array) -> consumed
 *       Packet i is buf[sum(lens[0..i)) ..][0 .. lens[i]). addrs (null for a connected socket)
 *       holds one ADDR_SLOT-byte sockaddr per packet, written by sockaddr(). Returns the number
 *       of packets consumed (sent, or dropped with an error); consumed < count means EAGAIN.
 *       Per-packet errors (ICMP errors surfacing as ECONNREFUSED, EMSGSIZE, EPERM…) drop that
 *       message and are counted: state[0] += errors, state[1] = last errno; state[2] = 1 when
 *       GSO was refused by the kernel (the call already retried without it; JS turns it off).
 *       Nothing is kept after the call returns.
 *   sockaddr(host: string, port, out: Uint8Array, offset) -> boolean
 *       Writes a sockaddr_in/sockaddr_in6 for an IP literal (v6 may carry %scope) into
 *       out[offset .. offset+ADDR_SLOT). false when host is not an IP literal.
 *   ADDR_SLOT: number (bytes per address slot)
 */
/* sendmmsg and struct mmsghdr are GNU extensions in glibc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NAPI_UTIL_CODE "ERR_UDP"
#include "napi-util.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define ADDR_SLOT ((int)sizeof(struct sockaddr_in6))
/* Messages per sendmmsg call (the kernel caps one call at UIO_MAXIOV = 1024). */
#define MAX_MSGS 128
/* UDP_MAX_SEGMENTS is 64 on older kernels, 128 on newer: stay under both. */
#define GSO_MAX_SEGS 64
/* One GSO super-datagram must fit a 64 KiB IP packet with headers. */
#define GSO_MAX_BYTES 65000




static int addr_len(const uint8_t* slot) {
  return ((const struct sockaddr*)slot)->sa_family == AF_INET6 ? (int)sizeof(struct sockaddr_in6)
                                                               : (int)sizeof(struct sockaddr_in);
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (get_args(env, info, 7, argv)) return NULL;
  int32_t fd, count;
  bool gso;
  uint8_t *buf, *addrs = NULL;
  int32_t *lens, *state;
  size_t buf_len, lens_len, addrs_len = 0, state_len;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (typed(env, argv[1], napi_uint8_array, (void**)&buf, &buf_len)) return NULL;
  if (typed(env, argv[2], napi_int32_array, (void**)&lens, &lens_len)) return NULL;
  CHECK(napi_get_value_int32(env, argv[3], &count));
  napi_valuetype vt;
  CHECK(napi_typeof(env, argv[4], &vt));
  if (vt == napi_object && typed(env, argv[4], napi_uint8_array, (void**)&addrs, &addrs_len)) return NULL;
  CHECK(napi_get_value_bool(env, argv[5], &gso));
  if (typed(env, argv[6], napi_int32_array, (void**)&state, &state_len)) return NULL;

  /* Validate the whole batch once, so the loop below cannot read past any buffer. */
  if (count < 0 || (size_t)count > lens_len || state_len < 3 ||
      (addrs && addrs_len < (size_t)count * ADDR_SLOT)) {
    napi_throw_range_error(env, "ERR_UDP_ARGS", "count exceeds lens/addrs, or state too short");
    return NULL;
  }
  size_t total = 0;
  for (int32_t i = 0; i < count; i++) {
    if (lens[i] < 0) {
      napi_throw_range_error(env, "ERR_UDP_ARGS", "negative packet length");
      return NULL;
    }
    total += (size_t)lens[i];
  }
  if (total > buf_len) {
    napi_throw_range_error(env, "ERR_UDP_ARGS", "packets extend past the buffer");
    return NULL;
  }

  struct mmsghdr msgs[MAX_MSGS];
  struct iovec iov[MAX_MSGS];
  /* One UDP_SEGMENT control message per mmsghdr; aligned as cmsghdr requires. */
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[MAX_MSGS];
  int npk[MAX_MSGS];

  int32_t done = 0; /* packets consumed */
  size_t off = 0;   /* byte offset of packet `done` */
  while (done < count) {
    /* Build up to MAX_MSGS messages from packet `done` on. */
    int nm = 0;
    int32_t p = done;
    size_t o = off;
    while (p < count && nm < MAX_MSGS) {
      int32_t len = lens[p];
      uint8_t* a = addrs ? addrs + (size_t)p * ADDR_SLOT : NULL;
      int32_t q = p + 1;
      size_t bytes = (size_t)len;
      if (gso && len > 0) {
        /* A GSO run: same destination, equal sizes; the last segment may be shorter. */
        while (q < count && q - p < GSO_MAX_SEGS && bytes + (size_t)lens[q] <= GSO_MAX_BYTES &&
               lens[q] > 0 && lens[q] <= len &&
               (!a || memcmp(a, addrs + (size_t)q * ADDR_SLOT, ADDR_SLOT) == 0)) {
          bytes += (size_t)lens[q];
          q++;
          if (lens[q - 1] < len) break;
        }
      }
      struct msghdr* h = &msgs[nm].msg_hdr;
      memset(h, 0, sizeof *h);
      iov[nm].iov_base = buf + o;
      iov[nm].iov_len = bytes;
      h->msg_iov = &iov[nm];
      h->msg_iovlen = 1;
      if (a) {
        h->msg_name = a;
        h->msg_namelen = (socklen_t)addr_len(a);
      }
      if (q - p > 1) {
        h->msg_control = ctl[nm].buf;
        h->msg_controllen = sizeof ctl[nm].buf;
        struct cmsghdr* c = CMSG_FIRSTHDR(h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = (uint16_t)len;
        memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
      npk[nm] = q - p;
      nm++;
      o += bytes;
      p = q;
    }

    int r = sendmmsg(fd, msgs, (unsigned)nm, MSG_DONTWAIT);
    if (r < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) break; /* JS sends the rest through Node's queue */
      if (npk[0] > 1 && (e == EINVAL || e == EIO || e == ENOPROTOOPT || e == EOPNOTSUPP)) {
        /* The kernel/device refused GSO (no checksum offload, segment > MTU…): retry plain. */
        gso = false;
        state[2] = 1;
        continue;
      }
      /* The first message failed (the kernel reports errors only when nothing was sent yet):
       * drop it and go on, like one failed dgram send. */
      state[0]++;
      state[1] = e;
      r = 1;
    }
    for (int m = 0; m < r; m++) {
      for (int k = 0; k < npk[m]; k++) off += (size_t)lens[done + k];
      done += npk[m];
    }
  }
  return make_int(env, done);
}

static napi_value js_sockaddr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv)) return NULL;
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t hl = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl));
  int32_t port, offset;
  CHECK(napi_get_value_int32(env, argv[1], &port));
  uint8_t* out;
  size_t out_len;
  if (typed(env, argv[2], napi_uint8_array, (void**)&out, &out_len)) return NULL;
  CHECK(napi_get_value_int32(env, argv[3], &offset));
  if (offset < 0 || (size_t)offset + ADDR_SLOT > out_len || port < 0 || port > 65535) {
    napi_throw_range_error(env, "ERR_UDP_ARGS", "slot outside buffer or bad port");
    return NULL;
  }
  napi_value res;
  uint8_t* slot = out + offset;
  memset(slot, 0, ADDR_SLOT);
  struct sockaddr_in* s4 = (struct sockaddr_in*)slot;
  struct sockaddr_in6* s6 = (struct sockaddr_in6*)slot;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    CHECK(napi_get_boolean(env, true, &res));
    return res;
  }
  char* pct = strchr(host, '%');
  uint32_t scope = 0;
  if (pct) {
    *pct = 0;
    char* end;
    unsigned long n = strtoul(pct + 1, &end, 10);
    scope = *end == 0 && end != pct + 1 ? (uint32_t)n : if_nametoindex(pct + 1);
  }
  bool ok = inet_pton(AF_INET6, host, &s6->sin6_addr) == 1;
  if (ok) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    s6->sin6_scope_id = scope;
  }
  CHECK(napi_get_boolean(env, ok, &res));
  return res;
}

napi_status udp_recv_register(napi_env env, napi_value exports);  /* recv.c */
napi_status udp_timer_register(napi_env env, napi_value exports); /* timer.c */
napi_status udp_scramble_register(napi_env env, napi_value exports); /* scramble.c */

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"sockaddr", NULL, js_sockaddr, NULL, NULL, NULL, napi_default, NULL},
      {"ADDR_SLOT", NULL, NULL, NULL, NULL, make_int(env, ADDR_SLOT), napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (udp_recv_register(env, exports) != napi_ok) return NULL;
  if (udp_timer_register(env, exports) != napi_ok) return NULL;
  if (udp_scramble_register(env, exports) != napi_ok) return NULL;
  return exports;
}
