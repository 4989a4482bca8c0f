/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Building test packets, and the Internet checksum used to verify them. */
#ifndef FOS1_TEST_PACKET_H
#define FOS1_TEST_PACKET_H

#include <stddef.h>
#include <linux/types.h>
#include "fos1.h"

#define PKT_MAX 1600

struct pkt_spec {
	int v6;
	const char *src, *dst; /* textual addresses of the family above */
	__u8 proto;            /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or any other (no L4 header built) */
	__u16 sport, dport;    /* ports; for ICMP echo, sport is the identifier */
	__u8 icmp_type;        /* default: echo request */
	__u8 tcp_flags;        /* default: ACK */
	__u8 tos;              /* IPv4 TOS or IPv6 traffic class (DSCP << 2 | ECN) */
	__u8 ttl;              /* default 64 */
	__u32 flow_label;      /* IPv6 */
	int vlan;              /* 802.1Q VID, 0 = untagged */
	__u16 frag_off;        /* IPv4 frag_off field in host order (MF 0x2000, offset in 8-byte units) */
	int v6_ext[4];         /* IPv6 extension headers before L4, 0-terminated (HOPOPTS, DSTOPTS, FRAGMENT) */
	size_t payload;        /* payload bytes after the L4 header */
};

/* The Internet checksum (RFC 1071) of len bytes, folded, starting from sum. */
__u16 inet_csum(const void *data, size_t len, __u32 sum);

/* Builds an Ethernet frame; returns its length. */
size_t pkt_build(const struct pkt_spec *s, __u8 *buf);

/* Offset of the IP header (after Ethernet and an optional VLAN tag). */
size_t pkt_l3_off(const __u8 *frame);

/* True when the IPv4 header at l3 has a valid checksum. */
int ipv4_csum_ok(const __u8 *frame);

/* True when the TCP/UDP checksum over the pseudo-header is valid. */
int l4_csum_ok(const __u8 *frame, size_t len);

/* Fills an IPv4-mapped or IPv6 address as the maps store it. */
void addr_parse(const char *text, struct fos1_addr *out);

/* The normalised flow key of a packet spec, as the programs compute it. */
void flow_key_of(const struct pkt_spec *s, struct fos1_flow_key *k);

#endif /* FOS1_TEST_PACKET_H */
