/*
 * N-API helpers shared by the addons (native/tun, native/udp). Header-only, plain node_api.h.
 *
 * Each addon throws its own error codes (src/tun maps ERR_TUN_*, src/quic ERR_UDP_*), so the
 * short forms below take the prefix from NAPI_UTIL_CODE, which a file defines before the
 * include (#define NAPI_UTIL_CODE "ERR_TUN"). Code shared by both addons (poll-reader.c) has
 * no single prefix and uses the *_code forms with a code it is given.
 */
#ifndef MASQUE_NAPI_UTIL_H
#define MASQUE_NAPI_UTIL_H
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Throws code and returns NULL from the enclosing napi_callback when call fails. */
#define CHECK_CODE(code, call)                                    \
  do {                                                            \
    if ((call) != napi_ok) {                                      \
      napi_throw_error(env, (code), "napi call failed: " #call); \
      return NULL;                                                \
    }                                                             \
  } while (0)

/* Throws an Error with the given code and "what: strerror(err)" as its message. */
static inline napi_value throw_errno_code(napi_env env, const char* code, int err, const char* what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

/*
 * Fills argv[0 .. max) (undefined past what was passed) and returns how many arguments were
 * passed; -1 with a TypeError when fewer than min.
 */
static inline int get_args_code(napi_env env, napi_callback_info info, const char* code, size_t min,
                                size_t max, napi_value* argv) {
  size_t argc = max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < min) {
    napi_throw_type_error(env, code, "missing arguments");
    return -1;
  }
  return (int)argc;
}

/*
 * Calls the JS function behind cb_ref from a libuv callback (the loop's, not a JS caller's):
 * in a handle scope, through napi_make_callback, so it runs in the async context actx and
 * nextTicks and microtasks are drained afterwards, as Node does after its own callbacks.
 * A throw goes to process 'uncaughtException', as a throw from a Node timer or socket
 * callback would; nothing is left pending for the loop.
 */
static inline void call_into_js(napi_env env, napi_async_context actx, napi_ref cb_ref, size_t argc,
                                const napi_value* argv) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, result;
  napi_get_reference_value(env, cb_ref, &cb);
  napi_get_global(env, &recv); /* napi_make_callback converts recv to an object: not undefined */
  napi_make_callback(env, actx, recv, cb, argc, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static inline napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

#ifdef NAPI_UTIL_CODE
#define CHECK(call) CHECK_CODE(NAPI_UTIL_CODE "_NAPI", call)

/* Exactly n arguments required (more are ignored): 0, or -1 with a TypeError. */
static inline int get_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  return get_args_code(env, info, NAPI_UTIL_CODE "_ARGS", n, n, argv) < 0 ? -1 : 0;
}

/* min required, up to max read: how many were passed, or -1 with a TypeError. */
static inline int get_args_opt(napi_env env, napi_callback_info info, size_t min, size_t max, napi_value* argv) {
  return get_args_code(env, info, NAPI_UTIL_CODE "_ARGS", min, max, argv);
}

/* A typed array's data and element count; -1 (with a TypeError) if it is not of type want. */
static inline int typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  napi_typedarray_type tt;
  if (napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL) != napi_ok || tt != want) {
    napi_throw_type_error(env, NAPI_UTIL_CODE "_ARGS",
                          want == napi_int32_array ? "expected Int32Array" : "expected Uint8Array");
    return -1;
  }
  return 0;
}
#endif

#endif
