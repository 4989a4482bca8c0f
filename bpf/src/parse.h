/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layer-by-layer packet parsing for tc programs. Every header is
 * bounds-checked right before it is read; the result names the path the
 * packet takes (not IP, malformed, fragment, or parsed).
 */
#ifndef FOS1_PARSE_H
#define FOS1_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "fos1.h"

#define FOS1_MAX_IPV6_EXT_HDRS 6
/* Bytes made linear before parsing: Ethernet, VLAN, IPv6 with extension headers, TCP with options. */
#define FOS1_LINEAR_MIN 192
/* Offsets beyond this are not parsed: keeps every offset provably bounded. */
#define FOS1_MAX_L4_OFF 512

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP,
	PARSE_MALFORMED,
	PARSE_FRAGMENT,
};

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

/* Addresses 8-byte aligned: flow keys compare and copy them a word at a time. */
struct pkt {
	struct fos1_addr src __attribute__((aligned(8)));
	struct fos1_addr dst __attribute__((aligned(8)));
	__be16 sport;
	__be16 dport;
	__u16 vlan_id;
	__u8 proto;
	__u8 is_v6;
	__u8 tcp_flags;
	__u8 unknown_l4;
	__u8 vlan_tagged; /* a tag in the packet or in skb metadata */
	__u8 have_addrs;  /* addresses parsed, even if a later header was not */
	__u32 l3_off;
	__u32 l4_off;
	__u32 l4_hlen; /* TCP/UDP header length, for GSO segment sizes */
};

static __always_inline void addr_from_v4(struct fos1_addr *a, __be32 v4)
{
	__u32 *w = (__u32 *)a->addr;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = v4;
}

static __always_inline int parse_ipv4(void *data, void *data_end, struct pkt *p)
{
	struct iphdr *iph = data + p->l3_off;
	__u32 hlen;

	if ((void *)(iph + 1) > data_end)
		return PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	if (bpf_ntohs(iph->tot_len) < hlen)
		return PARSE_MALFORMED;
	if (data + p->l3_off + hlen > data_end)
		return PARSE_MALFORMED;
	addr_from_v4(&p->src, iph->saddr);
	addr_from_v4(&p->dst, iph->daddr);
	p->have_addrs = 1;
	p->proto = iph->protocol;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return PARSE_FRAGMENT;
	p->l4_off = p->l3_off + hlen;
	return PARSE_OK;
}

static __always_inline int parse_ipv6(void *data, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6h = data + p->l3_off;
	__u32 off = p->l3_off + sizeof(*ip6h);
	__u8 nexthdr;
	int i;

	if ((void *)(ip6h + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip6h->version != 6)
		return PARSE_MALFORMED;
	__builtin_memcpy(p->src.addr, &ip6h->saddr, FOS1_ADDR_LEN);
	__builtin_memcpy(p->dst.addr, &ip6h->daddr, FOS1_ADDR_LEN);
	p->is_v6 = 1;
	p->have_addrs = 1;
	nexthdr = ip6h->nexthdr;

	for (i = 0; i < FOS1_MAX_IPV6_EXT_HDRS; i++) {
		struct ipv6_opt_hdr *oh;

		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
		    nexthdr != IPPROTO_DSTOPTS && nexthdr != IPPROTO_FRAGMENT && nexthdr != IPPROTO_AH)
			break;
		if (nexthdr == IPPROTO_FRAGMENT)
			return PARSE_FRAGMENT;
		if (off > FOS1_MAX_L4_OFF)
			return PARSE_MALFORMED;
		oh = data + off;
		if ((void *)(oh + 1) > data_end)
			return PARSE_MALFORMED;
		/* AH counts its length in 4-byte units minus 2, the others in 8-byte units minus 1. */
		if (nexthdr == IPPROTO_AH)
			off += (oh->hdrlen + 2) * 4;
		else
			off += (oh->hdrlen + 1) * 8;
		nexthdr = oh->nexthdr;
	}
	if (off > FOS1_MAX_L4_OFF)
		return PARSE_MALFORMED;
	p->proto = nexthdr;
	p->l4_off = off;
	return PARSE_OK;
}

static __always_inline int parse_l4(void *data, void *data_end, struct pkt *p)
{
	void *l4;

	if (p->l4_off > FOS1_MAX_L4_OFF)
		return PARSE_MALFORMED;
	l4 = data + p->l4_off;

	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return PARSE_MALFORMED;
		if (th->doff < 5)
			return PARSE_MALFORMED;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->l4_hlen = th->doff * 4;
		return PARSE_OK;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return PARSE_MALFORMED;
		p->sport = uh->source;
		p->dport = uh->dest;
		p->l4_hlen = sizeof(*uh);
		return PARSE_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct icmphdr *ih = l4; /* ICMPv6 shares the type/code/checksum/id layout */

		if ((void *)(ih + 1) > data_end)
			return PARSE_MALFORMED;
		if ((p->proto == IPPROTO_ICMP && (ih->type == ICMP_ECHO || ih->type == ICMP_ECHOREPLY)) ||
		    (p->proto == IPPROTO_ICMPV6 &&
		     (ih->type == ICMPV6_ECHO_REQUEST || ih->type == ICMPV6_ECHO_REPLY))) {
			/* Echo request and reply share the identifier: one flow. */
			p->sport = ih->un.echo.id;
			p->dport = ih->un.echo.id;
		}
		return PARSE_OK;
	}
	default:
		p->unknown_l4 = 1;
		return PARSE_OK;
	}
}

static __always_inline int parse_linear(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__be16 proto;
	int ret;

	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	proto = eth->h_proto;
	p->l3_off = sizeof(*eth);
	if (skb->vlan_present) {
		p->vlan_id = skb->vlan_tci & 0x0fff;
		p->vlan_tagged = 1;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = data + p->l3_off;

		if ((void *)(vh + 1) > data_end)
			return PARSE_MALFORMED;
		p->vlan_id = bpf_ntohs(vh->h_vlan_TCI) & 0x0fff;
		p->vlan_tagged = 1;
		proto = vh->h_vlan_encapsulated_proto;
		p->l3_off += sizeof(*vh);
	}

	if (proto == bpf_htons(ETH_P_IP))
		ret = parse_ipv4(data, data_end, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = parse_ipv6(data, data_end, p);
	else
		return PARSE_NOT_IP;
	if (ret != PARSE_OK)
		return ret;
	return parse_l4(data, data_end, p);
}

static __always_inline int parse_packet(struct __sk_buff *skb, struct pkt *p)
{
	int ret = parse_linear(skb, p);
	__u32 linear = skb->data_end - skb->data;

	/*
	 * Headers can sit in paged data (packet-socket senders, some drivers). Only
	 * then is the head extended, since a pull can copy; the packet is parsed again.
	 */
	if (ret == PARSE_MALFORMED && skb->len > linear) {
		if (bpf_skb_pull_data(skb, skb->len < FOS1_LINEAR_MIN ? skb->len : FOS1_LINEAR_MIN))
			return ret;
		__builtin_memset(p, 0, sizeof(*p));
		ret = parse_linear(skb, p);
	}
	return ret;
}

#endif /* FOS1_PARSE_H */
