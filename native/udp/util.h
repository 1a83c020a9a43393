/* Small N-API helpers shared by udp.c and recv.c (one addon, two files). */
#ifndef MASQUE_UDP_UTIL_H
#define MASQUE_UDP_UTIL_H
#include <node_api.h>
#include <stdint.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "ERR_UDP_NAPI", "napi call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static inline napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/* A typed array's data and element count; -1 (with a TypeError) if it is not of type want. */
static inline int typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  napi_typedarray_type tt;
  if (napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL) != napi_ok || tt != want) {
    napi_throw_type_error(env, "ERR_UDP_ARGS", want == napi_int32_array ? "expected Int32Array" : "expected Uint8Array");
    return -1;
  }
  return 0;
}

static inline int get_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, "ERR_UDP_ARGS", "missing arguments");
    return -1;
  }
  return 0;
}

#endif
