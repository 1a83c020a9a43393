/*
 * Byte-order helpers and the Internet checksum (RFC 1071) for the TUN addon's GRO writes
 * (gro.c) and TSO reads (tso.c).
 */
#ifndef MASQUE_TUN_CSUM_H
#define MASQUE_TUN_CSUM_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t* p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t* p, uint32_t v) {
  wr16(p, v >> 16);
  wr16(p + 2, v);
}

/* Adds n bytes as big-endian 16-bit words (short headers). */
static inline uint32_t sum16(uint32_t sum, const uint8_t* p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += rd16(p + i);
  if (n & 1) sum += (uint32_t)p[n - 1] << 8;
  return sum;
}
static inline uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/*
 * The same sum for payloads, four bytes per add: the one's complement sum does not depend on
 * byte order (RFC 1071 §2(B)), so words are added as they lie in memory and the folded result
 * is swapped back at the end (csum_fold_be). n must be even except for a buffer's last call.
 */
static inline uint64_t csum_add(uint64_t sum, const uint8_t* p, size_t n) {
  uint32_t w;
  for (; n >= 4; p += 4, n -= 4) {
    memcpy(&w, p, 4);
    sum += w;
  }
  if (n >= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    sum += h;
    p += 2;
    n -= 2;
  }
  if (n) {
    uint8_t last[2] = {p[0], 0};
    uint16_t h;
    memcpy(&h, last, 2);
    sum += h;
  }
  return sum;
}
/* The folded sum of csum_add, in network order as a host number (what rd16 would read). */
static inline uint16_t csum_fold_be(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  uint16_t le = fold((uint32_t)(sum & 0xffff) + (uint32_t)(sum >> 16));
  uint8_t b[2];
  memcpy(b, &le, 2);
  return rd16(b);
}

#endif
