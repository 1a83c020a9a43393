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
 * only the dup.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "util.h"

#define ADDR_SLOT ((int)sizeof(struct sockaddr_in6))
#define MAX_BATCH 256


typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd; /* our dup */
  uint8_t* base;
  size_t slot;
  uint32_t max_batch;
  int32_t* lens;
  uint8_t* addrs;
  int32_t* state;
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  napi_ref buf_ref, lens_ref, addrs_ref, state_ref, cb_ref;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  uint32_t err_streak; /* EPOLLERR wake-ups since the last datagram (bounds a spin) */
  bool closed;
} reader_t;

static napi_value throw_errno(napi_env env, int err, const char* what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_UDP_RECV", msg);
  return NULL;
}

static void on_closed(uv_handle_t* h) {
  reader_t* r = h->data;
  napi_remove_async_cleanup_hook(r->cleanup);
  free(r);
}

static void on_closed_early(uv_handle_t* h) { free(h->data); }

/* Env teardown with the reader open: stop, close our dup and the handle (see native/tun). */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  reader_t* r = arg;
  if (r->closed) return;
  r->closed = true;
  int fd = r->fd;
  uv_poll_stop(&r->poll); /* EPOLL_CTL_DEL while the dup is open: a closed dup would linger */
  uv_close((uv_handle_t*)&r->poll, on_closed);
  close(fd);
}

static void release(reader_t* r) {
  napi_delete_reference(r->env, r->buf_ref);
  napi_delete_reference(r->env, r->lens_ref);
  napi_delete_reference(r->env, r->addrs_ref);
  napi_delete_reference(r->env, r->state_ref);
  napi_delete_reference(r->env, r->cb_ref);
  napi_async_destroy(r->env, r->actx);
}

static void deliver(reader_t* r, int count, int err) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  napi_get_reference_value(env, r->cb_ref, &cb);
  napi_get_global(env, &recv);
  napi_create_int32(env, count, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  napi_make_callback(env, r->actx, recv, cb, 2, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}


/* Errors about one datagram or the peer, not the socket: count and keep reading. */
static bool is_soft(int e) {
  return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == ENOBUFS ||
         e == ENOMEM || e == EPERM || e == EMSGSIZE || e == ECONNRESET;
}

static void on_poll(uv_poll_t* h, int status, int events);

/* libuv stops a poll handle on EPOLLERR and reports UV_EBADF, but on a UDP socket EPOLLERR
 * mostly means a pending ICMP error (ECONNREFUSED on a connected socket). Read and clear it
 * with SO_ERROR; if it is one of those, count it and poll again. Returns 0 when polling goes
 * on, else the error that ends the reader. */
static int recover(reader_t* r) {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) return errno;
  if (soerr != 0 && !is_soft(soerr)) return soerr;
  if (++r->err_streak > 64) return soerr ? soerr : EIO; /* EPOLLERR that never clears */
  if (soerr != 0) {
    r->state[0]++;
    r->state[1] = soerr;
  }
  int rc = uv_poll_start(&r->poll, UV_READABLE, on_poll);
  return rc == 0 ? 0 : -rc;
}

static void on_poll(uv_poll_t* h, int status, int events) {
  reader_t* r = h->data;
  if (r->closed) return;
  if (status < 0) {
    int err = recover(r);
    if (err) uv_poll_stop(&r->poll);
    deliver(r, 0, err); /* also reports what recover() counted */
    return;
  }
  uint32_t want = r->max_batch;
  for (uint32_t i = 0; i < want; i++) {
    r->iov[i].iov_base = r->base + (size_t)i * r->slot;
    r->iov[i].iov_len = r->slot;
    memset(&r->msgs[i].msg_hdr, 0, sizeof r->msgs[i].msg_hdr);
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = r->addrs + (size_t)i * ADDR_SLOT;
    r->msgs[i].msg_hdr.msg_namelen = ADDR_SLOT;
  }
  /* One batch per wake-up: epoll is level-triggered, so what is left wakes us on the next
   * turn, after timers and other sockets had theirs (no starvation). */
  int n;
  int err = 0;
  for (int tries = 0; tries < 8; tries++) {
    n = recvmmsg(r->fd, r->msgs, want, MSG_DONTWAIT, NULL);
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
    deliver(r, 0, 0);
    return;
  }
  if (err) {
    uv_poll_stop(&r->poll); /* a dead fd would otherwise wake us forever */
    deliver(r, 0, err);
    return;
  }
  for (int i = 0; i < n; i++) {
    r->lens[i] = (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)r->msgs[i].msg_len;
  }
  r->err_streak = 0;
  if (n > 0) deliver(r, n, 0);
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
  reader_t* r = calloc(1, sizeof *r);
  if (!r) {
    close(dfd);
    return throw_errno(env, ENOMEM, "calloc");
  }
  r->env = env;
  r->fd = dfd;
  r->base = base;
  r->slot = (size_t)slot;
  r->max_batch = (uint32_t)max_batch;
  r->lens = lens;
  r->addrs = addrs;
  r->state = state;
  CHECK(napi_create_reference(env, argv[1], 1, &r->buf_ref));
  CHECK(napi_create_reference(env, argv[4], 1, &r->lens_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &r->addrs_ref));
  CHECK(napi_create_reference(env, argv[6], 1, &r->state_ref));
  CHECK(napi_create_reference(env, argv[7], 1, &r->cb_ref));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "masque.UdpRecv", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->actx));
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  r->poll.data = r;
  int rc = uv_poll_init(loop, &r->poll, dfd);
  if (rc != 0) {
    release(r);
    close(dfd);
    free(r);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  rc = uv_poll_start(&r->poll, UV_READABLE, on_poll);
  if (rc != 0) {
    r->closed = true;
    release(r);
    close(dfd);
    uv_close((uv_handle_t*)&r->poll, on_closed_early);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  napi_add_async_cleanup_hook(env, on_env_cleanup, r, &r->cleanup);
  napi_value ext;
  CHECK(napi_create_external(env, r, NULL, NULL, &ext));
  return ext;
}

static reader_t* get_reader(napi_env env, napi_callback_info info, napi_value* argv, size_t n) {
  if (get_args(env, info, n, argv)) return NULL;
  void* p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_UDP_ARGS", "not a reader handle");
    return NULL;
  }
  reader_t* r = p;
  return r->closed ? NULL : r;
}

static napi_value js_recv_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  reader_t* r = get_reader(env, info, argv, 2);
  if (!r) return NULL;
  bool on;
  CHECK(napi_get_value_bool(env, argv[1], &on));
  if (on) uv_ref((uv_handle_t*)&r->poll);
  else uv_unref((uv_handle_t*)&r->poll);
  return NULL;
}

/* Safe from inside cb: memory is released in the close callback, after cb returned. */
static napi_value js_recv_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  reader_t* r = get_reader(env, info, argv, 1);
  if (!r) return NULL;
  r->closed = true;
  int fd = r->fd;
  uv_poll_stop(&r->poll); /* EPOLL_CTL_DEL while the dup is open: a closed dup would linger */
  release(r);
  uv_close((uv_handle_t*)&r->poll, on_closed);
  close(fd);
  return NULL;
}

napi_status udp_recv_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"recvStart", NULL, js_recv_start, NULL, NULL, NULL, napi_default, NULL},
      {"recvRef", NULL, js_recv_ref, NULL, NULL, NULL, napi_default, NULL},
      {"recvClose", NULL, js_recv_close, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
