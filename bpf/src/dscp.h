/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* DSCP rewrite that keeps the two ECN bits and the IPv4 header checksum valid. */
#ifndef FOS1_DSCP_H
#define FOS1_DSCP_H

#include "parse.h"

/* Bytes of the IPv4 header up to and including the checksum: written back in one store. */
#define IPV4_CSUM_END 12

/* RFC 1624 (eqn. 3) update of a ones'-complement checksum for one changed 16-bit word. */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u32)(__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * Returns true when a byte was written; the same DSCP writes nothing. Headers
 * are read in place; the write goes through bpf_skb_store_bytes, which copies a
 * shared (cloned) head only when a rewrite is due, where a direct write would
 * make every cloned packet's head private.
 */
static __always_inline bool dscp_set(struct __sk_buff *skb, const struct pkt *p, __u8 dscp)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 off = p->l3_off;

	if (off > FOS1_MAX_L4_OFF)
		return false;
	if (!p->is_v6) {
		__u8 *ip = data + off;
		__u8 h[IPV4_CSUM_END];
		__u16 old_word, new_word, check;

		if ((void *)(ip + IPV4_CSUM_END) > data_end)
			return false;
		__builtin_memcpy(h, ip, IPV4_CSUM_END);
		if (h[1] >> 2 == dscp)
			return false;
		/* TOS is the second byte of the header's first 16-bit word; ECN is its low two bits. */
		__builtin_memcpy(&old_word, h, 2);
		h[1] = (dscp << 2) | (h[1] & 0x03);
		__builtin_memcpy(&new_word, h, 2);
		__builtin_memcpy(&check, h + 10, 2);
		check = csum_replace16(check, old_word, new_word);
		__builtin_memcpy(h + 10, &check, 2);
		return bpf_skb_store_bytes(skb, off, h, IPV4_CSUM_END, 0) == 0;
	} else {
		/* Traffic class straddles bytes 0 and 1: version(4) | tclass(8) | flow label(20). */
		__u8 *ip = data + off;
		__u8 b[2];

		if ((void *)(ip + 2) > data_end)
			return false;
		b[0] = ip[0];
		b[1] = ip[1];
		if ((((b[0] & 0x0f) << 2) | (b[1] >> 6)) == dscp)
			return false;
		b[0] = (b[0] & 0xf0) | (dscp >> 2);
		b[1] = (b[1] & 0x3f) | ((dscp & 0x03) << 6);
		return bpf_skb_store_bytes(skb, off, b, sizeof(b), 0) == 0;
	}
}

#endif /* FOS1_DSCP_H */
