/*
 * GRO writes for the TUN addon (gro.c): tun.c's writeArena calls this; declared once here so
 * the compiler checks the definition against the caller.
 */
#ifndef MASQUE_TUN_GRO_H
#define MASQUE_TUN_GRO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writes count packets lying back to back in buf (lengths in lens), merging runs of TCP
 * segments into virtio_net_hdr super-segments when vnet && gro. Returns how many packets the
 * kernel took (a packet it refuses is dropped, not counted), -EINVAL for a packet extending
 * past buf, or -errno for an error about the fd itself (EBADF, EIO, EFAULT).
 */
int tun_write_arena(int fd, uint8_t* buf, size_t buf_len, const int32_t* lens, int count, bool vnet, bool gro);

#endif
