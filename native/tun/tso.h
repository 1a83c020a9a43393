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

/* Linux 6.2's uapi values (if_tun.h, virtio_net.h), for build hosts with older headers; the
 * running kernel says whether it knows them (tso_enable). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/*
 * Lets the kernel hand this TUN TCP (and, where the kernel has USO, UDP) super-segments of at
 * most max_segs segments and packets with partial checksums: the device's gso_max_segs
 * (rtnetlink), then TUNSETOFFLOAD with TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 (| TUN_F_USO4 |
 * TUN_F_USO6; *uso says whether the kernel took those). The fd needs IFF_VNET_HDR. Returns 0
 * or an errno.
 */
int tso_enable(int fd, const char* ifname, uint32_t max_segs, bool* uso);

/*
 * Fills in a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM: the field at
 * csum_start + csum_offset holds the pseudo-header sum). false when the header points outside
 * the packet (the packet is then dropped).
 */
bool tso_complete_csum(uint8_t* pkt, size_t len, const struct virtio_net_hdr* vh);

/*
 * Cuts the super-segment pkt[0..len) (gso_type TCPV4, TCPV6 or UDP_L4) into segments carrying
 * vh->gso_size payload bytes each, as the kernel's own GSO would (tcp_gso_segment,
 * __udp_gso_segment): segment 0
 * stays at pkt, segment i is written at pkt + i * stride (cap bytes each); lens[i] gets each
 * length. At most max segments: a super-segment longer than that loses its tail, which TCP
 * retransmits (the reader keeps room for the device's gso_max_segs, so this only happens when
 * someone changed that). Returns how many, or -1 when pkt is not one packet we can cut.
 */
int tso_segment(uint8_t* pkt, size_t len, const struct virtio_net_hdr* vh, size_t stride, size_t cap, int max, int32_t* lens);

#endif
