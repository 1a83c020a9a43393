/*
 * TSO reads for the TUN addon (tso.c): with TUNSETOFFLOAD the kernel hands the TUN whole TCP
 * super-segments and packets whose checksum it left to us (virtio_net_hdr); tun.c's reader
 * turns them back into ordinary packets.
 */
#ifndef MASQUE_TUN_TSO_H
#define MASQUE_TUN_TSO_H
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Lets the kernel hand this TUN TCP super-segments of at most max_segs segments and packets
 * with partial checksums: the device's gso_max_segs (rtnetlink), then TUNSETOFFLOAD with
 * TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6. The fd needs IFF_VNET_HDR. Returns 0 or an errno.
 */
int tso_enable(int fd, const char* ifname, uint32_t max_segs);

/*
 * Fills in a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM: the field at
 * csum_start + csum_offset holds the pseudo-header sum). false when the header points outside
 * the packet (the packet is then dropped).
 */
bool tso_complete_csum(uint8_t* pkt, size_t len, const struct virtio_net_hdr* vh);

/*
 * Cuts the TCP super-segment pkt[0..len) (gso_type TCPV4 or TCPV6) into segments carrying
 * vh->gso_size payload bytes each, as the kernel's own GSO would (tcp_gso_segment): segment 0
 * stays at pkt, segment i is written at pkt + i * stride (cap bytes each); lens[i] gets each
 * length. At most max segments: a super-segment longer than that loses its tail, which TCP
 * retransmits (the reader keeps room for the device's gso_max_segs, so this only happens when
 * someone changed that). Returns how many, or -1 when pkt is not one TCP packet we can cut.
 */
int tso_segment(uint8_t* pkt, size_t len, const struct virtio_net_hdr* vh, size_t stride, size_t cap, int max, int32_t* lens);

#endif
