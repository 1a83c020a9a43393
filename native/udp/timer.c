/*
 * A libuv timer for the QUIC endpoint's timer heap (src/quic/timer-heap.ts).
 *
 * Why: all of Node's JS timers share one uv timer, and Node only ever moves it earlier.
 * clearTimeout of the earliest timer, followed by a setTimeout for a later time, leaves it
 * armed at the old time: the process wakes then, Node finds nothing due and re-arms. An idle
 * tunnel hits this on every exchange: the ACK for our answer ends quiche's loss-detection
 * timer (RFC 9002 §6.2), moving the connection's deadline from ~26 ms to the 30 s idle
 * timeout, and the process still woke at 26 ms for nothing. uv_timer_start on an active
 * timer moves it either way (libuv docs: "If the timer is already active, it is simply
 * updated").
 *
 * JS-visible functions (synchronous; registered by udp_timer_register):
 *   timerCreate(cb: () => void) -> handle      a stopped timer; cb runs when it fires
 *   timerStart(handle, ms)                     (re)arms it ms from the loop's cached now
 *   timerStop(handle)
 *   timerClose(handle)                         idempotent; start/stop on a closed handle are no-ops
 *
 * Lifetime, as for the batch readers (../common/poll-reader.h): the uv timer (until its close
 * callback) and the JS handle (until its finalizer) both own the memory; JS close, the
 * handle's finalizer and the env cleanup hook each close the timer, the first one does.
 * A started timer keeps the loop alive, like a ref'd Node timer; a stopped one does not.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <uv.h>

#define NAPI_UTIL_CODE "ERR_UDP"
#include "napi-util.h"

typedef struct {
  uv_timer_t timer; /* first: timer.data and the handle pointer are this struct */
  napi_env env;
  napi_ref cb_ref;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  bool closed;
  unsigned owners;
} utimer_t;

static const napi_type_tag TIMER_TAG = {0x6d617371756554ULL, 0x696d65722d7631ULL};

static void disown(utimer_t* t) {
  if (--t->owners == 0) free(t);
}

static void release(utimer_t* t) {
  if (t->cb_ref) napi_delete_reference(t->env, t->cb_ref);
  t->cb_ref = NULL;
  if (t->actx) napi_async_destroy(t->env, t->actx);
  t->actx = NULL;
}

/* Only after the close callback may Node unload the addon (our code runs until then): hence
 * an async cleanup hook, removed here. */
static void on_closed(uv_handle_t* h) {
  utimer_t* t = h->data;
  if (t->cleanup) napi_remove_async_cleanup_hook(t->cleanup);
  t->cleanup = NULL;
  disown(t);
}

static void shut(utimer_t* t) {
  t->closed = true;
  uv_timer_stop(&t->timer);
  uv_close((uv_handle_t*)&t->timer, on_closed);
}

/* Env teardown with the timer open; its references are left to the handle's finalizer. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  utimer_t* t = arg;
  if (!t->closed) shut(t);
}

static void on_handle_finalized(napi_env env, void* data, void* hint) {
  utimer_t* t = data;
  release(t);
  if (!t->closed) shut(t);
  disown(t);
}

static void on_timer(uv_timer_t* h) {
  utimer_t* t = h->data;
  if (!t->closed) call_into_js(t->env, t->actx, t->cb_ref, 0, NULL);
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  napi_valuetype type;
  CHECK(napi_typeof(env, argv[0], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, NAPI_UTIL_CODE "_ARGS", "timerCreate: callback must be a function");
    return NULL;
  }
  utimer_t* t = calloc(1, sizeof *t);
  if (!t) return throw_errno_code(env, NAPI_UTIL_CODE "_NAPI", ENOMEM, "calloc");
  t->env = env;
  uv_loop_t* loop = NULL;
  napi_value name;
  bool ok = napi_create_reference(env, argv[0], 1, &t->cb_ref) == napi_ok &&
            napi_create_string_utf8(env, "masque.Timer", NAPI_AUTO_LENGTH, &name) == napi_ok &&
            napi_async_init(env, NULL, name, &t->actx) == napi_ok && napi_get_uv_event_loop(env, &loop) == napi_ok;
  if (!ok) {
    release(t);
    free(t);
    napi_throw_error(env, NAPI_UTIL_CODE "_NAPI", "timerCreate: napi call failed");
    return NULL;
  }
  uv_timer_init(loop, &t->timer); /* cannot fail (src/timer.c) */
  t->timer.data = t;
  t->owners = 1; /* the uv timer, until its close callback */
  napi_value ext;
  if (napi_create_external(env, t, on_handle_finalized, NULL, &ext) != napi_ok) {
    release(t);
    shut(t);
    napi_throw_error(env, NAPI_UTIL_CODE "_NAPI", "timerCreate: napi_create_external failed");
    return NULL;
  }
  t->owners++; /* the handle, until its finalizer */
  /* Without its teardown hook the timer could outlive the env's loop: refuse it. */
  if (napi_type_tag_object(env, ext, &TIMER_TAG) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_env_cleanup, t, &t->cleanup) != napi_ok) {
    t->cleanup = NULL;
    release(t);
    shut(t);
    napi_throw_error(env, NAPI_UTIL_CODE "_NAPI", "timerCreate: napi call failed");
    return NULL;
  }
  return ext;
}

/* The open timer behind argv[0] (argv[0 .. n) filled); NULL when closed, or with a TypeError
 * when argv[0] is not a timer handle (another external would be dereferenced blindly). */
static utimer_t* from_args(napi_env env, napi_callback_info info, napi_value* argv, size_t n) {
  if (get_args(env, info, n, argv) < 0) return NULL;
  bool is_timer = false;
  void* p = NULL;
  if (napi_check_object_type_tag(env, argv[0], &TIMER_TAG, &is_timer) != napi_ok || !is_timer ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NAPI_UTIL_CODE "_ARGS", "not a timer handle");
    return NULL;
  }
  utimer_t* t = p;
  return t->closed ? NULL : t;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  utimer_t* t = from_args(env, info, argv, 2);
  if (!t) return NULL;
  double ms;
  CHECK(napi_get_value_double(env, argv[1], &ms));
  if (!(ms >= 0)) ms = 0; /* NaN and negatives: due now, as setTimeout treats them */
  if (ms > 2147483647.0) ms = 2147483647.0; /* setTimeout's ceiling (~24.8 days) */
  /* libuv counts from the loop's cached now, taken when this iteration began; JS computed ms
   * from the clock just now, so refresh it first or the timer fires early by the iteration's age. */
  uv_update_time(t->timer.loop);
  uv_timer_start(&t->timer, on_timer, (uint64_t)ms, 0);
  return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  utimer_t* t = from_args(env, info, argv, 1);
  if (t) uv_timer_stop(&t->timer);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  utimer_t* t = from_args(env, info, argv, 1);
  if (!t) return NULL;
  release(t);
  shut(t);
  return NULL;
}

napi_status udp_timer_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"timerCreate", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"timerStart", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"timerStop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
      {"timerClose", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
