/*
 * masque-relay TUN addon (Linux): open a TUN fd, batched reads driven by uv_poll on the
 * main loop, batched writes. Plain node_api.h, no node-addon-api.
 *
 * Why uv_poll and not fs.read: a read on the libuv thread pool blocks a pool thread until a
 * packet arrives, which caps throughput (~40-90 k pps), drops under load and keeps the
 * process from exiting (measured: docs/tun.md "Why our own addon"). A non-blocking fd polled by epoll costs
 * nothing while idle, drains many packets per wake-up and needs no thread to unblock on exit.
 * The reader's lifetime (start, pause, close, env teardown, the call into JS) is shared with
 * native/udp/recv.c in native/common/poll-reader.c; on_poll, the drain, is ours.
 *
 * JS-visible functions (all synchronous; errors are Error objects whose `code` is the libuv
 * errno name, e.g. "EPERM"; src/tun/linux.ts maps them to TunError):
 *   open(name: string, multiQueue: boolean, vnetHdr?: boolean, tsoSegs?: number)
 *       -> [fd, actualName, tsoErrno, uso]. tsoSegs > 0 (needs vnetHdr): TSO reads (tso.c),
 *       with the device's gso_max_segs set to tsoSegs; tsoErrno 0 when on, -1 when not asked
 *       for, else why it is off (the fd works either way, without TSO); uso: UDP too.
 *   getMtu(name) -> number            setMtu(name, mtu)
 *   pollStart(fd, buf, slotBytes, offset, sizes: Int32Array, maxBatch, cb(count, errno),
 *       vnet?, tsoSegs?) -> handle. Reads packet i into buf[i*slotBytes + offset ...], its
 *       length into sizes[i], then calls cb once per batch. buf/sizes are only rewritten
 *       after cb returns. tsoSegs: the fd has TSO on; super-segments are cut into packets.
 *   pollStats(handle) -> [superSegments, segmentsFromThem, dropped] (TSO reads)
 *   pollPause(handle)  pollResume(handle)  pollRef(handle, bool)  pollClose(handle)
 *   write(fd, bufs: Uint8Array[], offset, count, sizes: Int32Array|undefined, vnet?) -> written
 *   writeArena(fd, buf, lens: Int32Array, count, vnet, gro) -> consumed   (gro.c)
 *   close(fd)
 * vnet: the fd was opened with IFF_VNET_HDR; reads skip the header (pollStart's 8th
 * argument), writes prepend an empty one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <node_api.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#define NAPI_UTIL_CODE "ERR_TUN"
#include "gro.h"
#include "tso.h"
#include "napi-util.h"
#include "poll-reader.h"

/* Throws an Error with code = errno name (EPERM, EBUSY, ...) and a message with context. */
static napi_value throw_errno(napi_env env, int err, const char* what) {
  return throw_errno_code(env, uv_err_name(-err), err, what);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int argc = get_args_opt(env, info, 2, 4, argv);
  if (argc < 0) return NULL;
  char name[IFNAMSIZ] = {0};
  size_t len = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  bool multi = false, vnet = false;
  CHECK(napi_get_value_bool(env, argv[1], &multi));
  if (argc > 2) CHECK(napi_get_value_bool(env, argv[2], &vnet));
  int32_t tso_segs = 0;
  if (argc > 3) CHECK(napi_get_value_int32(env, argv[3], &tso_segs));

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  /* IFF_NO_PI: packets start at the IP header, no 4-byte prefix to strip or add. */
  /* IFF_VNET_HDR (a virtio_net_hdr before each packet, for GSO): lets writeArena hand the
   * kernel a run of TCP segments as one super-segment (gro.c). */
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0) | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, len < IFNAMSIZ ? len : IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "ioctl TUNSETIFF");
  }
  bool uso = false;
  int tso_err = vnet && tso_segs > 0 ? tso_enable(fd, ifr.ifr_name, (uint32_t)tso_segs, &uso) : -1;
  napi_value arr, actual;
  napi_value has_uso;
  CHECK(napi_create_array_with_length(env, 4, &arr));
  CHECK(napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &actual));
  CHECK(napi_get_boolean(env, uso, &has_uso));
  CHECK(napi_set_element(env, arr, 0, make_int(env, fd)));
  CHECK(napi_set_element(env, arr, 1, actual));
  CHECK(napi_set_element(env, arr, 2, make_int(env, tso_err)));
  CHECK(napi_set_element(env, arr, 3, has_uso));
  return arr;
}

/* MTU through SIOC[GS]IFMTU on a throwaway socket: acts in the caller's network namespace. */
static napi_value mtu_ioctl(napi_env env, napi_callback_info info, bool set) {
  napi_value argv[2];
  if (get_args(env, info, set ? 2 : 1, argv)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t len = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], ifr.ifr_name, IFNAMSIZ, &len));
  if (set) {
    int32_t mtu;
    CHECK(napi_get_value_int32(env, argv[1], &mtu));
    ifr.ifr_mtu = mtu;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, errno, "socket");
  int rc = ioctl(s, set ? SIOCSIFMTU : SIOCGIFMTU, &ifr);
  int e = errno;
  close(s);
  if (rc < 0) return throw_errno(env, e, set ? "ioctl SIOCSIFMTU" : "ioctl SIOCGIFMTU");
  return make_int(env, ifr.ifr_mtu);
}
static napi_value js_get_mtu(napi_env env, napi_callback_info info) { return mtu_ioctl(env, info, false); }
static napi_value js_set_mtu(napi_env env, napi_callback_info info) { return mtu_ioctl(env, info, true); }

typedef struct {
  poll_reader_t pr; /* first; pr.fd stays JS's (pollClose does not close it) */
  uint8_t* base;
  size_t slot;
  size_t offset;
  int32_t* sizes;
  uint32_t max_batch;
  bool vnet; /* the fd has IFF_VNET_HDR: each read starts with a header */
  uint32_t tso_segs; /* TSO on: room kept for a super-segment of this many segments */
  double supers, segs, dropped; /* TSO reads: super-segments, the packets cut from them, drops */
} reader_t;

static void on_poll(uv_poll_t* h, int status, int events);

static const poll_reader_kind_t kind = {
    .resource_name = "masque.TunRead",
    .code_args = "ERR_TUN_ARGS",
    .code_napi = "ERR_TUN_NAPI",
    .code_errno = NULL,
    .on_poll = on_poll,
    .owns_fd = false,
    .tag = {0x6d61737175657475ULL, 0x6e2d706f6c6c7264ULL}, /* "masquetun-pollrd" */
};

/* What a TSO read handed us (tso.h): how many packets of the batch it fills, 0 to drop it. */
static uint32_t offloaded(reader_t* r, uint8_t* dst, size_t k, const struct virtio_net_hdr* vh, uint32_t n) {
  if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
    int m = tso_segment(dst, k, vh, r->slot, r->slot - r->offset, (int)(r->max_batch - n), r->sizes + n);
    if (m < 0) {
      r->dropped++;
      return 0;
    }
    r->supers++;
    r->segs += m;
    return (uint32_t)m;
  }
  if ((vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !tso_complete_csum(dst, k, vh)) {
    r->dropped++;
    return 0;
  }
  r->sizes[n] = (int32_t)k;
  return 1;
}

/* Reads packets into the batch until EAGAIN or the batch is full; returns how many, with *err
 * set when the fd broke (0 otherwise). A full batch leaves the fd readable, so epoll
 * (level-triggered) wakes us again on the next loop turn after other handles ran. With TSO
 * a batch counts as full once fewer slots than a super-segment's segments are left. */
static uint32_t drain(reader_t* r, int* err) {
  uint32_t n = 0;
  size_t cap = r->slot - r->offset;
  struct virtio_net_hdr vh;
  while (n < r->max_batch && !(n > 0 && r->tso_segs && r->max_batch - n < r->tso_segs)) {
    uint8_t* dst = r->base + (size_t)n * r->slot + r->offset;
    ssize_t k;
    if (r->vnet) {
      /* Without TSO (TUNSETOFFLOAD) the kernel hands us whole, checksummed packets and the
       * header carries nothing we need. */
      struct iovec iov[2] = {{&vh, sizeof vh}, {dst, cap}};
      k = readv(r->pr.fd, iov, 2);
      if (k >= 0) k = k >= (ssize_t)sizeof vh ? k - (ssize_t)sizeof vh : 0;
    } else {
      k = read(r->pr.fd, dst, cap);
    }
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) *err = errno;
      break;
    }
    if (r->tso_segs) n += offloaded(r, dst, (size_t)k, &vh, n);
    else r->sizes[n++] = (int32_t)k;
  }
  return n;
}

static void on_poll(uv_poll_t* h, int status, int events) {
  reader_t* r = h->data;
  if (r->pr.closed) return;
  if (status < 0) {
    poll_reader_fail(&r->pr, 0, -status);
    return;
  }
  int err = 0;
  uint32_t n = drain(r, &err);
  if (err) poll_reader_fail(&r->pr, (int)n, err);
  else if (n > 0) poll_reader_deliver(&r->pr, (int)n, 0);
}

/*
 * pollNow(handle) → count: the same drain as a wake-up, now, from JS; the packets are in the
 * batch buffer as for a callback. For reading what a write just made the kernel answer (an
 * echo reply, TCP ACKs from a local stack are queued before write() returns) without a trip
 * through epoll. 0 while paused or closed. A broken fd is not reported here: the fd stays
 * readable-with-error, so the next wake-up reports it through the callback as usual.
 */
static napi_value js_poll_now(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  poll_reader_t* pr = poll_reader_from_args(env, info, argv, 1);
  if (!pr) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    return pending ? NULL : make_int(env, 0);
  }
  int err = 0;
  return make_int(env, pr->paused ? 0 : (int)drain((reader_t*)pr, &err));
}

static napi_value js_poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  int argc = get_args_opt(env, info, 7, 9, argv);
  if (argc < 0) return NULL;
  bool vnet = false;
  if (argc > 7) CHECK(napi_get_value_bool(env, argv[7], &vnet));
  int32_t tso_segs = 0;
  if (argc > 8) CHECK(napi_get_value_int32(env, argv[8], &tso_segs));
  int32_t fd, slot, offset, max_batch;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[2], &slot));
  CHECK(napi_get_value_int32(env, argv[3], &offset));
  CHECK(napi_get_value_int32(env, argv[5], &max_batch));
  void* base;
  size_t buf_len;
  CHECK(napi_get_buffer_info(env, argv[1], &base, &buf_len));
  napi_typedarray_type tt;
  size_t sizes_len;
  void* sizes;
  CHECK(napi_get_typedarray_info(env, argv[4], &tt, &sizes_len, &sizes, NULL, NULL));
  if (tt != napi_int32_array || sizes_len < (size_t)max_batch || slot <= offset || offset < 0 ||
      max_batch <= 0 || (size_t)slot * (size_t)max_batch > buf_len || tso_segs < 0 || (tso_segs > 0 && !vnet)) {
    napi_throw_range_error(env, "ERR_TUN_ARGS", "bad read buffer geometry");
    return NULL;
  }
  reader_t* r = poll_reader_alloc(env, &kind, sizeof *r, fd);
  if (!r) return NULL;
  r->base = base;
  r->slot = (size_t)slot;
  r->offset = (size_t)offset;
  r->sizes = sizes;
  r->max_batch = (uint32_t)max_batch;
  r->vnet = vnet;
  r->tso_segs = (uint32_t)tso_segs;
  napi_value keep[] = {argv[1], argv[4]};
  return poll_reader_start(&r->pr, keep, sizeof keep / sizeof keep[0], argv[6]);
}

static napi_value js_poll_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  poll_reader_t* pr = poll_reader_from_args(env, info, argv, 1);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  reader_t* r = (reader_t*)pr;
  double v[3] = {r ? r->supers : 0, r ? r->segs : 0, r ? r->dropped : 0};
  napi_value arr, x;
  CHECK(napi_create_array_with_length(env, 3, &arr));
  for (uint32_t i = 0; i < 3; i++) {
    CHECK(napi_create_double(env, v[i], &x));
    CHECK(napi_set_element(env, arr, i, x));
  }
  return arr;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int argc = get_args_opt(env, info, 5, 6, argv);
  if (argc < 0) return NULL;
  bool vnet = false;
  if (argc > 5) CHECK(napi_get_value_bool(env, argv[5], &vnet));
  static const struct virtio_net_hdr zero_hdr;
  int32_t fd, offset, count;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[2], &offset));
  CHECK(napi_get_value_int32(env, argv[3], &count));
  int32_t* sizes = NULL;
  size_t sizes_len = 0;
  napi_valuetype vt;
  CHECK(napi_typeof(env, argv[4], &vt));
  if (vt == napi_object) {
    napi_typedarray_type tt;
    CHECK(napi_get_typedarray_info(env, argv[4], &tt, &sizes_len, (void**)&sizes, NULL, NULL));
    if (tt != napi_int32_array) sizes = NULL;
  }
  for (int32_t i = 0; i < count; i++) {
    napi_value el;
    CHECK(napi_get_element(env, argv[1], (uint32_t)i, &el));
    napi_typedarray_type tt;
    size_t len;
    void* data;
    napi_value ab;
    size_t byte_off;
    CHECK(napi_get_typedarray_info(env, el, &tt, &len, &data, &ab, &byte_off));
    if (tt != napi_uint8_array) {
      napi_throw_type_error(env, "ERR_TUN_ARGS", "packets must be Uint8Array/Buffer");
      return NULL;
    }
    size_t n = sizes && (size_t)i < sizes_len ? (size_t)sizes[i] : len - (size_t)offset;
    if ((size_t)offset > len || n > len - (size_t)offset) {
      napi_throw_range_error(env, "ERR_TUN_ARGS", "packet extends past its buffer");
      return NULL;
    }
    ssize_t k;
    struct iovec iov[2] = {{(void*)&zero_hdr, sizeof zero_hdr}, {(uint8_t*)data + offset, n}};
    do k = vnet ? writev(fd, iov, 2) : write(fd, (uint8_t*)data + offset, n);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
      /* EAGAIN: the kernel queue is full; report how many went out and let the caller drop. */
      if (errno == EAGAIN) return make_int(env, i);
      int e = errno;
      throw_errno(env, e, "write");
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
        napi_set_named_property(env, exc, "written", make_int(env, i));
        napi_throw(env, exc);
      }
      return NULL;
    }
  }
  return make_int(env, count);
}

static napi_value js_write_arena(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (get_args(env, info, 6, argv)) return NULL;
  int32_t fd, count;
  bool vnet, gro;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[3], &count));
  CHECK(napi_get_value_bool(env, argv[4], &vnet));
  CHECK(napi_get_value_bool(env, argv[5], &gro));
  napi_typedarray_type tt;
  size_t buf_len, lens_len;
  void *buf, *lens;
  if (napi_get_typedarray_info(env, argv[1], &tt, &buf_len, &buf, NULL, NULL) != napi_ok || tt != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[2], &tt, &lens_len, &lens, NULL, NULL) != napi_ok || tt != napi_int32_array ||
      count < 0 || (size_t)count > lens_len) {
    napi_throw_type_error(env, "ERR_TUN_ARGS", "writeArena(fd, Uint8Array, Int32Array, count, vnet, gro)");
    return NULL;
  }
  int r = tun_write_arena(fd, buf, buf_len, lens, count, vnet, gro);
  if (r == -EINVAL) {
    napi_throw_range_error(env, "ERR_TUN_ARGS", "packet extends past its buffer");
    return NULL;
  }
  if (r < 0) return throw_errno(env, -r, "write");
  return make_int(env, r);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"getMtu", NULL, js_get_mtu, NULL, NULL, NULL, napi_default, NULL},
      {"setMtu", NULL, js_set_mtu, NULL, NULL, NULL, napi_default, NULL},
      {"pollStart", NULL, js_poll_start, NULL, NULL, NULL, napi_default, NULL},
      {"pollPause", NULL, poll_reader_js_pause, NULL, NULL, NULL, napi_default, (void*)&kind},
      {"pollResume", NULL, poll_reader_js_resume, NULL, NULL, NULL, napi_default, (void*)&kind},
      {"pollRef", NULL, poll_reader_js_ref, NULL, NULL, NULL, napi_default, (void*)&kind},
      {"pollClose", NULL, poll_reader_js_close, NULL, NULL, NULL, napi_default, (void*)&kind},
      {"pollNow", NULL, js_poll_now, NULL, NULL, NULL, napi_default, (void*)&kind},
      {"pollStats", NULL, js_poll_stats, NULL, NULL, NULL, napi_default, (void*)&kind},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL},
      {"writeArena", NULL, js_write_arena, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
