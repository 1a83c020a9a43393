/*
 * The scramble transform of draft-ietf-masque-quic-proxy-07 §6.3.2, in place, with the
 * OpenSSL that Node itself exports (node's own headers, /usr/include/node/openssl; nothing
 * extra is linked).
 *
 * Why native: forwarded mode exists to take the ingress relay's per-packet cost out of the
 * two-hop data path. In JavaScript (src/masque/quic-forwarding/scramble.ts keeps that version
 * as the fallback) the keystream XOR and three cipher calls cost ~4 µs per 1200-byte packet,
 * more than the quiche decryption they replace; here one call does it.
 *
 * JS-visible functions (synchronous):
 *   scrambleKey(key: Uint8Array(32)) -> external
 *       AES-128-CTR under key[0..16) and AES-128-ECB (both ways) under key[16..32), each
 *       context set up once. Freed by the external's finalizer.
 *   scramble(ctx, pkt: Uint8Array, cidLen, decode: boolean) -> boolean
 *       Transforms the short-header packet pkt (its DCID cidLen bytes long) in place; false
 *       when it has fewer than 16 bytes after the DCID (left untouched).
 *       encode: iv = p[L+1..L+17); CTR(k1, iv) over p[0] and p[L+17..); p[0] &= 0x7f;
 *               p[L+1..L+17) = ECB(k2, iv).
 *       decode: iv = ECB^-1(k2, p[L+1..L+17)); the same CTR; p[0] &= 0x7f; the iv written back.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAPI_UTIL_CODE "ERR_UDP"
#include "napi-util.h"

typedef struct {
  EVP_CIPHER_CTX* ctr;
  EVP_CIPHER_CTX* ivEnc;
  EVP_CIPHER_CTX* ivDec;
} scramble_ctx;

static void free_ctx(scramble_ctx* s) {
  if (!s) return;
  EVP_CIPHER_CTX_free(s->ctr);
  EVP_CIPHER_CTX_free(s->ivEnc);
  EVP_CIPHER_CTX_free(s->ivDec);
  free(s);
}

static void on_finalize(napi_env env, void* data, void* hint) {
  free_ctx((scramble_ctx*)data);
}

static napi_value js_scramble_key(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) < 0) return NULL;
  uint8_t* key;
  size_t len;
  if (typed(env, argv[0], napi_uint8_array, (void**)&key, &len) < 0) return NULL;
  if (len != 32) {
    napi_throw_range_error(env, NAPI_UTIL_CODE "_ARGS", "scramble key must be 32 bytes");
    return NULL;
  }
  scramble_ctx* s = calloc(1, sizeof *s);
  if (s) {
    s->ctr = EVP_CIPHER_CTX_new();
    s->ivEnc = EVP_CIPHER_CTX_new();
    s->ivDec = EVP_CIPHER_CTX_new();
  }
  int ok = s && s->ctr && s->ivEnc && s->ivDec &&
           EVP_EncryptInit_ex(s->ctr, EVP_aes_128_ctr(), NULL, key, NULL) == 1 &&
           EVP_EncryptInit_ex(s->ivEnc, EVP_aes_128_ecb(), NULL, key + 16, NULL) == 1 &&
           EVP_DecryptInit_ex(s->ivDec, EVP_aes_128_ecb(), NULL, key + 16, NULL) == 1 &&
           EVP_CIPHER_CTX_set_padding(s->ivEnc, 0) == 1 && EVP_CIPHER_CTX_set_padding(s->ivDec, 0) == 1;
  if (!ok) {
    free_ctx(s);
    napi_throw_error(env, NAPI_UTIL_CODE "_CRYPTO", "scrambleKey: cipher setup failed");
    return NULL;
  }
  napi_value ext;
  if (napi_create_external(env, s, on_finalize, NULL, &ext) != napi_ok) {
    free_ctx(s);
    napi_throw_error(env, NAPI_UTIL_CODE "_NAPI", "scrambleKey: napi_create_external failed");
    return NULL;
  }
  return ext;
}

/* One 16-byte block through an ECB context, in place. */
static int ecb_block(EVP_CIPHER_CTX* c, uint8_t* b, int decode) {
  uint8_t out[16];
  int n = 0;
  int ok = decode ? EVP_DecryptUpdate(c, out, &n, b, 16) : EVP_EncryptUpdate(c, out, &n, b, 16);
  if (ok != 1 || n != 16) return 0;
  memcpy(b, out, 16);
  return 1;
}

static napi_value js_scramble(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) < 0) return NULL;
  scramble_ctx* s;
  CHECK(napi_get_value_external(env, argv[0], (void**)&s));
  uint8_t* p;
  size_t len;
  if (typed(env, argv[1], napi_uint8_array, (void**)&p, &len) < 0) return NULL;
  int32_t cid_len;
  bool decode;
  CHECK(napi_get_value_int32(env, argv[2], &cid_len));
  CHECK(napi_get_value_bool(env, argv[3], &decode));
  napi_value res;
  if (cid_len < 0 || cid_len > 255 || len < (size_t)cid_len + 17) {
    CHECK(napi_get_boolean(env, false, &res));
    return res;
  }
  uint8_t* ivp = p + 1 + cid_len;
  uint8_t iv[16];
  memcpy(iv, ivp, 16);
  if (decode && !ecb_block(s->ivDec, iv, 1)) goto fail;
  /* The CTR stream runs over p[0] and then p[L+17..): two updates of one stream. */
  int n = 0;
  if (EVP_EncryptInit_ex(s->ctr, NULL, NULL, NULL, iv) != 1) goto fail;
  if (EVP_EncryptUpdate(s->ctr, p, &n, p, 1) != 1) goto fail;
  size_t rest = len - (size_t)cid_len - 17;
  if (rest > 0 && EVP_EncryptUpdate(s->ctr, ivp + 16, &n, ivp + 16, (int)rest) != 1) goto fail;
  p[0] &= 0x7f; /* the Header Form bit stays 0 (RFC 8999 §5.2) */
  if (!decode && !ecb_block(s->ivEnc, iv, 0)) goto fail;
  memcpy(ivp, iv, 16);
  CHECK(napi_get_boolean(env, true, &res));
  return res;
fail:
  napi_throw_error(env, NAPI_UTIL_CODE "_CRYPTO", "scramble: cipher call failed");
  return NULL;
}

napi_status udp_scramble_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"scrambleKey", NULL, js_scramble_key, NULL, NULL, NULL, napi_default, NULL},
      {"scramble", NULL, js_scramble, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
