/*
 * A batch reader's lifetime on the Node loop, shared by native/tun (TUN reads) and native/udp
 * (recvmmsg): a uv_poll_t on a non-blocking fd, JS-held buffers kept alive while C writes
 * into them, one JS callback per batch, pause/resume, ref/unref, close (also from inside the
 * callback) and the env cleanup hook that lets a worker or the process exit with a reader open.
 *
 * What stays in each addon: how a wake-up drains its fd (its own uv_poll_cb, which libuv
 * calls directly, so the shared part adds no call on the hot path) and what an error means.
 *
 * Use: embed a poll_reader_t as the first member of the addon's reader struct, allocate it
 * with poll_reader_alloc(), fill the addon's fields, then poll_reader_start(). The JS entry
 * points poll_reader_js_{close,ref,pause,resume} take the kind as their property-descriptor
 * data pointer, and a reader handle as their first argument.
 *
 * Everything here runs on the loop thread of the env that started the reader.
 *
 * Lifetime. Two owners keep the reader's memory and the last to let go frees it: the uv_poll
 * until its close callback (libuv touches it until then) and the JS handle until its
 * finalizer (JS may pass a closed handle to close/ref/pause, which must find "closed", not
 * freed memory). Three things close the reader; the first does, the others find it closed:
 *   - close from JS;
 *   - the handle's finalizer, when JS dropped the handle without close: else the fd would
 *     stay polled, and the callback and buffers alive, until env teardown. The callback is
 *     held strongly, so a callback that reaches the handle (a JS wrapper's bound method whose
 *     object keeps the handle, as in src/quic/udp-recv.ts and src/tun/linux.ts) keeps
 *     it alive: such a reader is still delivering, and its wrapper must close it;
 *   - the env cleanup hook (worker exit, process exit).
 * The handle may be collected during the callback (cb is not given it), but its finalizer
 * does not run there: for a module built with a numbered NAPI_VERSION (binding.gyp: 8) Node
 * only queues finalizers in the GC and runs them from the loop (a SetImmediate, or just
 * before it frees the env), where napi calls and uv_close are allowed. node_api_post_finalizer
 * is for NAPI_EXPERIMENTAL modules, whose finalizers run inside the GC. Were ours to run
 * inside the callback, it would do what close from inside the callback does.
 */
#ifndef MASQUE_POLL_READER_H
#define MASQUE_POLL_READER_H
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* Hidden: calls from the addon stay direct (no PLT stub, no interposition), and the copies
 * in the two .node files cannot bind to each other even if one is loaded RTLD_GLOBAL. */
#define POLL_READER_API __attribute__((visibility("hidden")))

/* Most JS values one reader keeps alive besides its callback (udp: buf, lens, addrs, state). */
#define POLL_READER_MAX_KEEP 4

/* What tells one addon's readers apart; one static const instance per addon. */
typedef struct {
  const char* resource_name; /* the async resource type async_hooks see, e.g. "masque.TunRead" */
  const char* code_args;     /* thrown for a missing argument or a value that is not a handle */
  const char* code_napi;     /* thrown when a napi call fails */
  const char* code_errno;    /* thrown for a failed syscall; NULL: the errno's name (EPERM, ...) */
  uv_poll_cb on_poll;        /* drains the fd; reports through poll_reader_deliver/_fail */
  bool owns_fd;              /* JS close and a failed start close fd (udp's dup); TUN's fd is JS's */
  napi_type_tag tag;         /* marks this kind's handles: another external is refused, not dereferenced */
} poll_reader_kind_t;

typedef struct {
  uv_poll_t poll; /* first: poll.data and the handle pointer are the reader itself */
  napi_env env;
  const poll_reader_kind_t* kind;
  int fd;
  napi_ref keep[POLL_READER_MAX_KEEP];
  napi_ref cb_ref;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  bool closed; /* by JS, its finalizer or env teardown: on_poll must return at once, JS calls are no-ops */
  bool paused; /* by JS or by a failure: pollResume watches the fd again */
  unsigned owners; /* the uv_poll and the JS handle, while they exist (Lifetime, above) */
} poll_reader_t;

/*
 * A zeroed reader of size bytes (the addon's struct, poll_reader_t first) for fd; the addon
 * fills its own fields before poll_reader_start. NULL with an exception pending when out of
 * memory (fd is closed then if the kind owns it).
 */
POLL_READER_API void* poll_reader_alloc(napi_env env, const poll_reader_kind_t* kind, size_t size, int fd);

/*
 * Keeps keep[0 .. nkeep) (the buffers C writes into) and cb alive until close and starts
 * polling. Returns the JS handle (an external), or NULL with an exception pending; on failure
 * the reader is freed and an owned fd closed. cb(count, errno) is called through
 * poll_reader_deliver with the async context, so microtasks and nextTick run after it.
 */
POLL_READER_API napi_value poll_reader_start(poll_reader_t* r, const napi_value* keep, size_t nkeep,
                                             napi_value cb);

/* Calls cb(count, err) once. An exception from cb goes to process 'uncaughtException'. */
POLL_READER_API void poll_reader_deliver(poll_reader_t* r, int count, int err);

/*
 * The fd is broken: pause, then tell JS (count packets still in the buffer, err != 0).
 * Pausing, not closing, so that a failure needs no state of its own: the reader stays open
 * until closed, and pollResume watches the fd again as after a pause; an fd that is still
 * broken then reports its error once more and pauses again (one callback per resume, no spin).
 */
POLL_READER_API void poll_reader_fail(poll_reader_t* r, int count, int err);

/* Starts (again) watching for readability: 0 or a libuv error (< 0). */
static inline int poll_reader_rearm(poll_reader_t* r) {
  return uv_poll_start(&r->poll, UV_READABLE, r->kind->on_poll);
}

/*
 * For an addon's own JS entry points on a reader: the open reader behind argv[0], with
 * argv[0 .. n) filled (the property descriptor's data must be the kind). NULL when the reader
 * is closed (no exception: calls on a closed reader are no-ops) or, with a TypeError pending,
 * when argv[0] is not a handle.
 */
POLL_READER_API poll_reader_t* poll_reader_from_args(napi_env env, napi_callback_info info, napi_value* argv,
                                                     size_t n);

/* pollClose(handle) / recvClose(handle). Safe from inside cb, and again on a closed reader. */
POLL_READER_API napi_value poll_reader_js_close(napi_env env, napi_callback_info info);
/* pollRef(handle, on): on=false lets the process exit while the reader waits, like socket.unref(). */
POLL_READER_API napi_value poll_reader_js_ref(napi_env env, napi_callback_info info);
/* pollPause(handle) / pollResume(handle): stop and restart watching; both idempotent.
 * pollResume also restarts a reader that a failure paused. */
POLL_READER_API napi_value poll_reader_js_pause(napi_env env, napi_callback_info info);
POLL_READER_API napi_value poll_reader_js_resume(napi_env env, napi_callback_info info);

#endif
