// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include "packet.h"

static const __u8 mac_router_lan[6] = { 0x02, 0xfb, 0, 0, 0x01, 0x01 };
static const __u8 mac_client[6] = { 0x02, 0xfb, 0, 0, 0x01, 0x02 };

__u16 inet_csum(const void *data, size_t len, __u32 sum)
{
	const __u8 *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

void addr_parse(const char *text, struct fos1_addr *out)
{
	struct in_addr v4;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &v4) == 1) {
		out->addr[10] = 0xff;
		out->addr[11] = 0xff;
		memcpy(&out->addr[12], &v4, 4);
		return;
	}
	inet_pton(AF_INET6, text, out->addr);
}

size_t pkt_l3_off(const __u8 *frame)
{
	return (frame[12] == 0x81 && frame[13] == 0x00) ? 18 : 14;
}

static __u32 pseudo_sum(const __u8 *ip, int v6, __u8 proto, size_t l4len)
{
	__u32 sum = 0;
	size_t i;
	const __u8 *a = v6 ? ip + 8 : ip + 12;
	size_t alen = v6 ? 32 : 8;

	for (i = 0; i < alen; i += 2)
		sum += (a[i] << 8) | a[i + 1];
	return sum + proto + (__u32)l4len;
}

static size_t l4_build(const struct pkt_spec *s, __u8 *l4)
{
	size_t hlen;

	switch (s->proto) {
	case IPPROTO_TCP:
		hlen = 20;
		memset(l4, 0, hlen);
		*(__u16 *)l4 = htons(s->sport);
		*(__u16 *)(l4 + 2) = htons(s->dport);
		*(__u32 *)(l4 + 4) = htonl(1000);
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x10;
		*(__u16 *)(l4 + 14) = htons(65535);
		break;
	case IPPROTO_UDP:
		hlen = 8;
		*(__u16 *)l4 = htons(s->sport);
		*(__u16 *)(l4 + 2) = htons(s->dport);
		*(__u16 *)(l4 + 4) = htons((__u16)(8 + s->payload));
		*(__u16 *)(l4 + 6) = 0;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		hlen = 8;
		memset(l4, 0, hlen);
		l4[0] = s->icmp_type ? s->icmp_type : (s->proto == IPPROTO_ICMP ? 8 : 128);
		*(__u16 *)(l4 + 4) = htons(s->sport);
		*(__u16 *)(l4 + 6) = htons(1);
		break;
	default:
		hlen = 0;
	}
	memset(l4 + hlen, 0xab, s->payload);
	return hlen + s->payload;
}

static void l4_checksum(const struct pkt_spec *s, const __u8 *ip, __u8 *l4, size_t l4len)
{
	size_t off;
	__u16 c;

	if (s->proto == IPPROTO_TCP)
		off = 16;
	else if (s->proto == IPPROTO_UDP)
		off = 6;
	else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6)
		off = 2;
	else
		return;
	l4[off] = l4[off + 1] = 0;
	c = inet_csum(l4, l4len, s->proto == IPPROTO_ICMP ? 0 : pseudo_sum(ip, s->v6, s->proto, l4len));
	if (s->proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	l4[off] = c >> 8;
	l4[off + 1] = c & 0xff;
}

size_t pkt_build(const struct pkt_spec *s, __u8 *buf)
{
	size_t off = 12, l4len, l3, ext = 0;
	__u8 *ip, *l4;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, mac_router_lan, 6);
	memcpy(buf + 6, mac_client, 6);
	if (s->vlan) {
		*(__u16 *)(buf + off) = htons(0x8100);
		*(__u16 *)(buf + off + 2) = htons((__u16)s->vlan);
		off += 4;
	}
	*(__u16 *)(buf + off) = htons(s->v6 ? 0x86dd : 0x0800);
	l3 = off + 2;
	ip = buf + l3;

	if (!s->v6) {
		struct in_addr a;

		l4 = ip + 20;
		l4len = l4_build(s, l4);
		ip[0] = 0x45;
		ip[1] = s->tos;
		*(__u16 *)(ip + 2) = htons((__u16)(20 + l4len));
		*(__u16 *)(ip + 4) = htons(0x1234);
		*(__u16 *)(ip + 6) = htons(s->frag_off);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		inet_pton(AF_INET, s->src, &a);
		memcpy(ip + 12, &a, 4);
		inet_pton(AF_INET, s->dst, &a);
		memcpy(ip + 16, &a, 4);
		l4_checksum(s, ip, l4, l4len);
		*(__u16 *)(ip + 10) = htons(inet_csum(ip, 20, 0));
		return l3 + 20 + l4len;
	}

	{
		__u8 next = s->proto;
		__u8 *h;
		int i, n = 0;
		__u32 w;

		while (n < 4 && s->v6_ext[n])
			n++;
		h = ip + 40;
		/* Chain the extension headers, each 8 bytes, then the L4 header. */
		for (i = 0; i < n; i++) {
			memset(h, 0, 8);
			h[0] = i + 1 < n ? (__u8)s->v6_ext[i + 1] : s->proto;
			h += 8;
			ext += 8;
		}
		if (n)
			next = (__u8)s->v6_ext[0];
		l4 = ip + 40 + ext;
		l4len = l4_build(s, l4);
		w = htonl((6u << 28) | ((__u32)s->tos << 20) | (s->flow_label & 0xfffff));
		memcpy(ip, &w, 4);
		*(__u16 *)(ip + 4) = htons((__u16)(ext + l4len));
		ip[6] = next;
		ip[7] = s->ttl ? s->ttl : 64;
		inet_pton(AF_INET6, s->src, ip + 8);
		inet_pton(AF_INET6, s->dst, ip + 24);
		l4_checksum(s, ip, l4, l4len);
		return l3 + 40 + ext + l4len;
	}
}

int ipv4_csum_ok(const __u8 *frame)
{
	const __u8 *ip = frame + pkt_l3_off(frame);

	return inet_csum(ip, (ip[0] & 0x0f) * 4, 0) == 0;
}

int l4_csum_ok(const __u8 *frame, size_t len)
{
	const __u8 *ip = frame + pkt_l3_off(frame);
	int v6 = (ip[0] >> 4) == 6;
	size_t hl = v6 ? 40 : (size_t)(ip[0] & 0x0f) * 4;
	__u8 proto = v6 ? ip[6] : ip[9];
	size_t l4len = len - (size_t)(ip - frame) - hl;

	return inet_csum(ip + hl, l4len, pseudo_sum(ip, v6, proto, l4len)) == 0;
}

void flow_key_of(const struct pkt_spec *s, struct fos1_flow_key *k)
{
	struct fos1_addr src, dst;
	__u16 sport = s->sport, dport = s->dport;
	int c;

	if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6)
		dport = sport;
	else if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
		sport = dport = 0;
	addr_parse(s->src, &src);
	addr_parse(s->dst, &dst);
	memset(k, 0, sizeof(*k));
	c = memcmp(src.addr, dst.addr, FOS1_ADDR_LEN);
	if (c < 0 || (c == 0 && sport <= dport)) {
		memcpy(k->addr_a, src.addr, 16);
		memcpy(k->addr_b, dst.addr, 16);
		k->port_a = htons(sport);
		k->port_b = htons(dport);
	} else {
		memcpy(k->addr_a, dst.addr, 16);
		memcpy(k->addr_b, src.addr, 16);
		k->port_a = htons(dport);
		k->port_b = htons(sport);
	}
	k->vlan_id = (__u16)s->vlan;
	k->proto = s->proto;
}
