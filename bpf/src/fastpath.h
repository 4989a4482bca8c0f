/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fast path for offloaded flows: what an nftables flowtable does in the
 * kernel (this kernel has none): FIB lookup honouring the flow's route mark,
 * TTL/hop-limit decrement, MAC rewrite, redirect to the egress device. Any
 * case it does not handle returns -1 and the packet takes the slow path.
 */
#ifndef FOS1_FASTPATH_H
#define FOS1_FASTPATH_H

#include "parse.h"
#include "fos1.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
/* Linux 6.10 uapi; Debian's 6.1 headers predate it. The mark overlays smac[0..3]. */
#ifndef BPF_FIB_LOOKUP_MARK
#define BPF_FIB_LOOKUP_MARK (1U << 5)
#endif

static __always_inline int fib_to_cache(struct __sk_buff *skb, const struct pkt *p, struct fos1_flow *f, __u32 dir,
					__u64 now)
{
	struct bpf_fib_lookup fib = {};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 flags = 0;

	fib.ifindex = skb->ifindex;
	fib.l4_protocol = p->proto;
	fib.sport = p->sport;
	fib.dport = p->dport;
	if (!p->is_v6) {
		struct iphdr *iph = data + sizeof(struct ethhdr);

		if ((void *)(iph + 1) > data_end)
			return -1;
		fib.family = AF_INET;
		fib.tos = iph->tos;
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
	} else {
		struct ipv6hdr *ip6h = data + sizeof(struct ethhdr);

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		fib.family = AF_INET6;
		fib.flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
		__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, FOS1_ADDR_LEN);
		__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, FOS1_ADDR_LEN);
	}
	/* The fast path must take the same route ip rules give the marked slow path. */
	if (f->mark) {
		flags |= BPF_FIB_LOOKUP_MARK;
		__builtin_memcpy(fib.smac, &f->mark, sizeof(f->mark));
	}
	/* tot_len stays 0: the kernel then checks the skb (GSO included) against the egress MTU. */
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), flags) != BPF_FIB_LKUP_RET_SUCCESS) {
		f->nh_ifindex[dir] = 0;
		return -1;
	}
	f->nh_ifindex[dir] = fib.ifindex;
	f->nh_mtu[dir] = fib.mtu_result;
	__builtin_memcpy(f->nh_smac[dir], fib.smac, ETH_ALEN);
	__builtin_memcpy(f->nh_dmac[dir], fib.dmac, ETH_ALEN);
	f->nh_checked_ns[dir] = now;
	return 0;
}

/*
 * A cached next hop skipped the kernel's MTU check, so do it here; too big goes
 * the slow way (ICMP). A packet that fits whole fits in segments too, so the
 * GSO size (another cache line) is read only for packets over the MTU.
 */
static __always_inline bool fits_mtu(struct __sk_buff *skb, const struct pkt *p, __u32 mtu)
{
	__u32 gso_size;

	if (skb->len - sizeof(struct ethhdr) <= mtu)
		return true;
	gso_size = skb->gso_size;
	return gso_size && gso_size + (p->l4_off - sizeof(struct ethhdr)) + p->l4_hlen <= mtu;
}

/* Ethernet addresses are 2-byte aligned in the packet and in the flow entry: three half-word moves each. */
static __always_inline void mac_copy(void *to, const void *from)
{
	const __u16 *s = from;
	__u16 *d = to;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

static __always_inline int fastpath_redirect(struct __sk_buff *skb, const struct fos1_config *cfg, const struct pkt *p,
					     struct fos1_flow *f, __u32 dir, __u64 now)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6h = NULL;
	struct iphdr *iph = NULL;

	/* A VLAN egress device is not known here; tagged traffic keeps the slow path. */
	if (p->vlan_tagged)
		return -1;
	if (!p->is_v6) {
		iph = data + sizeof(*eth);
		if ((void *)(iph + 1) > data_end || iph->ttl <= 1)
			return -1;
	} else {
		ip6h = data + sizeof(*eth);
		if ((void *)(ip6h + 1) > data_end || ip6h->hop_limit <= 1)
			return -1;
	}

	/* The FIB helper does not move packet data: the pointers above stay valid across it. */
	if (cfg->nexthop_ttl_ns && f->nh_ifindex[dir] && now - f->nh_checked_ns[dir] < cfg->nexthop_ttl_ns) {
		if (!fits_mtu(skb, p, f->nh_mtu[dir]))
			return -1;
	} else if (fib_to_cache(skb, p, f, dir, now)) {
		return -1;
	}

	if (iph) {
		/* RFC 1624 incremental update for a TTL decrement, as ip_decrease_ttl(). */
		__u32 check = iph->check;

		check += bpf_htons(0x0100);
		iph->check = (__sum16)(check + (check >= 0xffff));
		iph->ttl--;
	} else if (ip6h) {
		ip6h->hop_limit--;
	}
	mac_copy(eth->h_dest, f->nh_dmac[dir]);
	mac_copy(eth->h_source, f->nh_smac[dir]);
	return bpf_redirect(f->nh_ifindex[dir], 0);
}

#endif /* FOS1_FASTPATH_H */
