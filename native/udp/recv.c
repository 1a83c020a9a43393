/*
 * masque-relay UDP batch-receive (Linux): recvmmsg(2) driven by a uv_poll, one JS call per
 * batch. Part of the udp addon (udp.c registers these functions).
 *
 * Why: Node's dgram makes, per datagram, one recvmsg syscall, a 64 KiB malloc that is then
 * shrunk, an ArrayBuffer, an rinfo object with an address string, and a MakeCallback. On a
 * relay at full load that path was ~16 % of the process (perf, docs/benchmarks.md). Here one
 * recvmmsg fills up to max_batch preallocated slots and one callback reports the count;
 * lengths and source sockaddrs are in flat typed arrays that JS reads without a napi call.
 *
 * The socket stays Node's (bind, connect, close, the send fallback): we poll a dup() of its
 * fd, so libuv's per-fd watcher table never sees two handles on one descriptor, and JS stops
 * dgram's own receiving (handle.recvStop) once this reader runs. Closing the reader closes
 * only the dup. The reader's lifetime (start, close, env teardown, the call into JS) is
 * native/common/poll-reader.c, shared with native/tun; on_poll and the error recovery are ours.
 *
 * JS-visible functions:
 *   recvStart(fd, buf: Buffer, slot, maxBatch, lens: Int32Array, addrs: Uint8Array,
 *             state: Int32Array, cb(count, errno)) -> handle
 *       Datagram i of a batch is buf[i*slot ..][0 .. lens[i]); its source sockaddr is
 *       addrs[i*ADDR_SLOT ..]. lens[i] = -1 marks a datagram longer than slot (truncated:
 *       drop it). Errors that concern one datagram or a peer (ECONNREFUSED from an ICMP error
 *       on a connected socket, ENOBUFS…) are counted in state[0] (state[1] = last errno) and
 *       reading goes on; any other error stops the reader and reaches cb as errno.
 *   recvClose(handle)   recvRef(handle, bool)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define NAPI_UTIL_CODE "ERR_UDP"
#include "napi-util.h"
#include "poll-reader.h"

#define ADDR_SLOT ((int)sizeof(struct sockaddr_in6))
#define MAX_BATCH 256


typedef struct {
  poll_reader_t pr; /* first; pr.fd is our dup, which the reader owns */
  uint8_t* base;
  size_t slot;
  uint32_t max_batch;
  int32_t* lens;
  uint8_t* addrs;
  int32_t* state;
  uint32_t err_streak; /* EPOLLERR wake-ups since the last datagram (bounds a spin) */
} reader_t;

/* The recvmmsg headers, one set per thread, not per reader: on_poll rebuilds them on every
 * wake-up and reads the results back before it calls into JS, and a thread runs one on_poll
 * at a time. Per reader they were 20 KiB of zeroed memory, most of what a relay's idle
 * CONNECT-UDP session cost (31 vs 6 KiB RSS per socket before this). */
static _Thread_local struct mmsghdr msgs[MAX_BATCH];
static _Thread_local struct iovec iov[MAX_BATCH];

static napi_value throw_errno(napi_env env, int err, const char* what) {
  return throw_errno_code(env, "ERR_UDP_RECV", err, what);
}

static void on_poll(uv_poll_t* h, int status, int events);

static const poll_reader_kind_t kind = {
    .resource_name = "masque.UdpRecv",
    .code_args = "ERR_UDP_ARGS",
    .code_napi = "ERR_UDP_NAPI",
    .code_errno = "ERR_UDP_RECV",
    .on_poll = on_poll,
    .owns_fd = true,
    .tag = {0x6d61737175657564ULL, 0x702d726563767264ULL}, /* "masqueudp-recvrd" */
};

/* Errors about one datagram or the peer, not the socket: count and keep reading. */
static bool is_soft(int e) {
  return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == ENOBUFS ||
         e == ENOMEM || e == EPERM || e == EMSGSIZE || e == ECONNRESET;
}

/* libuv stops a poll handle on EPOLLERR and reports UV_EBADF, but on a UDP socket EPOLLERR
 * mostly means a pending ICMP error (ECONNREFUSED on a connected socket). Read and clear it
 * with SO_ERROR; if it is one of those, count it and poll again. Returns 0 when polling goes
 * on, else the error that ends the reader. */
static int recover(reader_t* r) {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt(r->pr.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) return errno;
  if (soerr != 0 && !is_soft(soerr)) return soerr;
  if (++r->err_streak > 64) return soerr ? soerr : EIO; /* EPOLLERR that never clears */
  if (soerr != 0) {
    r->state[0]++;
    r->state[1] = soerr;
  }
  int rc = poll_reader_rearm(&r->pr);
  return rc == 0 ? 0 : -rc;
}

static void on_poll(uv_poll_t* h, int status, int events) {
  reader_t* r = h->data;
  if (r->pr.closed) return;
  if (status < 0) {
    int err = recover(r);
    if (err) poll_reader_fail(&r->pr, 0, err);
    else poll_reader_deliver(&r->pr, 0, 0); /* reports what recover() counted */
    return;
  }
  uint32_t want = r->max_batch;
  for (uint32_t i = 0; i < want; i++) {
    iov[i].iov_base = r->base + (size_t)i * r->slot;
    iov[i].iov_len = r->slot;
    memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = r->addrs + (size_t)i * ADDR_SLOT;
    msgs[i].msg_hdr.msg_namelen = ADDR_SLOT;
  }
  /* One batch per wake-up: epoll is level-triggered, so what is left wakes us on the next
   * turn, after timers and other sockets had theirs (no starvation). */
  int n;
  int err = 0;
  for (int tries = 0; tries < 8; tries++) {
    n = recvmmsg(r->pr.fd, msgs, want, MSG_DONTWAIT, NULL);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    if (is_soft(errno)) {
      r->state[0]++;
      r->state[1] = errno;
      continue;
    }
    err = errno;
    break;
  }
  if (n < 0 && err == 0) { /* only soft errors: report them, wait for the next wake-up */
    poll_reader_deliver(&r->pr, 0, 0);
    return;
  }
  if (err) {
    poll_reader_fail(&r->pr, 0, err);
    return;
  }
  for (int i = 0; i < n; i++) {
    r->lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)msgs[i].msg_len;
  }
  r->err_streak = 0;
  if (n > 0) poll_reader_deliver(&r->pr, n, 0);
}



static napi_value js_recv_start(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (get_args(env, info, 8, argv)) return NULL;
  int32_t fd, slot, max_batch;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[2], &slot));
  CHECK(napi_get_value_int32(env, argv[3], &max_batch));
  void *base, *lens, *addrs, *state;
  size_t buf_len, lens_len, addrs_len, state_len;
  CHECK(napi_get_buffer_info(env, argv[1], &base, &buf_len));
  if (typed(env, argv[4], napi_int32_array, &lens, &lens_len) ||
      typed(env, argv[5], napi_uint8_array, &addrs, &addrs_len) ||
      typed(env, argv[6], napi_int32_array, &state, &state_len)) {
    return NULL;
  }
  if (slot <= 0 ||
      max_batch <= 0 || max_batch > MAX_BATCH || lens_len < (size_t)max_batch ||
      addrs_len < (size_t)max_batch * ADDR_SLOT || state_len < 2 ||
      (size_t)slot * (size_t)max_batch > buf_len) {
    napi_throw_range_error(env, "ERR_UDP_ARGS", "bad receive buffer geometry");
    return NULL;
  }
  int dfd = dup(fd);
  if (dfd < 0) return throw_errno(env, errno, "dup");
  reader_t* r = poll_reader_alloc(env, &kind, sizeof *r, dfd);
  if (!r) return NULL;
  r->base = base;
  r->slot = (size_t)slot;
  r->max_batch = (uint32_t)max_batch;
  r->lens = lens;
  r->addrs = addrs;
  r->state = state;
  napi_value keep[] = {argv[1], argv[4], argv[5], argv[6]};
  return poll_reader_start(&r->pr, keep, sizeof keep / sizeof keep[0], argv[7]);
}

napi_status udp_recv_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"recvStart", NULL, js_recv_start, NULL, NULL, NULL, napi_default, NULL},
      {"recvRef", NULL, poll_reader_js_ref, NULL, NULL, NULL, napi_default, (void*)&kind},
      {"recvClose", NULL, poll_reader_js_close, NULL, NULL, NULL, napi_default, (void*)&kind},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
