/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* DSCP rewrite that keeps the two ECN bits and the IPv4 header checksum valid. */
#ifndef FOS1_DSCP_H
#define FOS1_DSCP_H

#include <stddef.h>
#include "parse.h"

/* Returns true when a byte was written; the same DSCP writes nothing. */
static __always_inline bool dscp_set(struct __sk_buff *skb, const struct pkt *p, __u8 dscp)
{
	__u32 off = p->l3_off;

	if (off > FOS1_MAX_L4_OFF)
		return false;
	if (!p->is_v6) {
		__u8 tos, new_tos;

		if (bpf_skb_load_bytes(skb, off + offsetof(struct iphdr, tos), &tos, 1))
			return false;
		new_tos = (dscp << 2) | (tos & 0x03);
		if (new_tos == tos)
			return false;
		/* TOS is the low byte of the header's first 16-bit word. */
		if (bpf_l3_csum_replace(skb, off + offsetof(struct iphdr, check), bpf_htons(tos), bpf_htons(new_tos),
					sizeof(__u16)))
			return false;
		return bpf_skb_store_bytes(skb, off + offsetof(struct iphdr, tos), &new_tos, 1, 0) == 0;
	} else {
		/* Traffic class straddles bytes 0 and 1: version(4) | tclass(8) | flow label(20). */
		__u8 b[2], tc, new_tc;

		if (bpf_skb_load_bytes(skb, off, b, sizeof(b)))
			return false;
		tc = (b[0] << 4) | (b[1] >> 4);
		new_tc = (dscp << 2) | (tc & 0x03);
		if (new_tc == tc)
			return false;
		b[0] = (b[0] & 0xf0) | (new_tc >> 4);
		b[1] = (b[1] & 0x0f) | (new_tc << 4);
		return bpf_skb_store_bytes(skb, off, b, sizeof(b), 0) == 0;
	}
}

#endif /* FOS1_DSCP_H */
