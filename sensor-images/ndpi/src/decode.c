/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame decoding: link layer (Ethernet, 802.1Q/802.1ad, Linux cooked v1/v2,
 * raw IP, BSD loopback) -> IPv4/IPv6 -> L4 ports. Every read is checked
 * against the captured length right before it happens.
 */
#include <arpa/inet.h>
#include <string.h>

#include "sensor.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

int decode_linktype_supported(int linktype)
{
	switch (linktype) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	default:
		return 0;
	}
}

/* Sets *ethertype and *off past the link header; 0 on success. */
static enum decode_result decode_link(int linktype, const uint8_t *frame, uint32_t caplen,
				      uint16_t *ethertype, uint32_t *off)
{
	switch (linktype) {
	case DLT_EN10MB:
		if (caplen < 14)
			return DECODE_TRUNCATED;
		*ethertype = rd16(frame + 12);
		*off = 14;
		/* 802.3 length field: LLC frames (STP, CDP...) carry no IP here. */
		return *ethertype < 0x0600 ? DECODE_NOT_IP : DECODE_OK;
	case DLT_LINUX_SLL:
		if (caplen < 16)
			return DECODE_TRUNCATED;
		*ethertype = rd16(frame + 14);
		*off = 16;
		return DECODE_OK;
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return DECODE_TRUNCATED;
		*ethertype = rd16(frame);
		*off = 20;
		return DECODE_OK;
	case DLT_NULL:
	case DLT_LOOP: {
		uint32_t family;

		if (caplen < 4)
			return DECODE_TRUNCATED;
		memcpy(&family, frame, 4);
		/* Written in the capturing host's byte order (DLT_NULL) or network order (DLT_LOOP). */
		if (family == 2 || ntohl(family) == 2)
			*ethertype = ETHERTYPE_IPV4;
		else if (family == 10 || family == 24 || family == 28 || family == 30 || ntohl(family) == 10 ||
			 ntohl(family) == 24 || ntohl(family) == 28 || ntohl(family) == 30)
			*ethertype = ETHERTYPE_IPV6;
		else
			return DECODE_NOT_IP;
		*off = 4;
		return DECODE_OK;
	}
	case DLT_RAW:
		if (caplen < 1)
			return DECODE_TRUNCATED;
		*ethertype = (frame[0] >> 4) == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
		*off = 0;
		return DECODE_OK;
	case DLT_IPV4:
		*ethertype = ETHERTYPE_IPV4;
		*off = 0;
		return DECODE_OK;
	case DLT_IPV6:
		*ethertype = ETHERTYPE_IPV6;
		*off = 0;
		return DECODE_OK;
	default:
		return DECODE_NOT_IP;
	}
}

static int is_vlan_ethertype(uint16_t ethertype)
{
	return ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ || ethertype == ETHERTYPE_QINQ_OLD;
}

static enum decode_result decode_vlan(const uint8_t *frame, uint32_t caplen, uint16_t *ethertype,
				      uint32_t *off, struct packet_info *pi)
{
	int tags;

	for (tags = 0; tags < MAX_VLAN_TAGS && is_vlan_ethertype(*ethertype); tags++) {
		if (caplen < *off + 4)
			return DECODE_TRUNCATED;
		/* The innermost tag keys the flow, as in ndpiReader. */
		pi->vlan_tagged = 1;
		pi->vlan_id = rd16(frame + *off) & 0x0fff;
		*ethertype = rd16(frame + *off + 2);
		*off += 4;
	}
	return is_vlan_ethertype(*ethertype) ? DECODE_MALFORMED : DECODE_OK;
}

/* Sets l4 offset/length relative to pi->l3. */
static enum decode_result decode_ipv4(struct packet_info *pi, uint32_t avail, uint32_t *l4_off,
				      uint32_t *l4_len)
{
	const uint8_t *ip = pi->l3;
	uint32_t ihl, tot_len;

	if (avail < 20)
		return DECODE_TRUNCATED;
	if ((ip[0] >> 4) != 4)
		return DECODE_MALFORMED;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	tot_len = rd16(ip + 2);
	if (ihl < 20 || tot_len < ihl)
		return DECODE_MALFORMED;
	if (ihl > avail || tot_len > avail)
		return DECODE_TRUNCATED;
	if ((rd16(ip + 6) & 0x1fff) != 0)
		return DECODE_FRAGMENT;

	pi->ip_version = 4;
	pi->l4_proto = ip[9];
	memcpy(pi->src, ip + 12, 4);
	memcpy(pi->dst, ip + 16, 4);
	*l4_off = ihl;
	*l4_len = tot_len - ihl;
	return DECODE_OK;
}

static enum decode_result decode_ipv6(struct packet_info *pi, uint32_t avail, uint32_t *l4_off,
				      uint32_t *l4_len)
{
	const uint8_t *ip = pi->l3;
	uint32_t end, off = 40;
	uint8_t next;
	int i;

	if (avail < 40)
		return DECODE_TRUNCATED;
	if ((ip[0] >> 4) != 6)
		return DECODE_MALFORMED;
	end = 40 + (uint32_t)rd16(ip + 4);
	if (end > avail)
		return DECODE_TRUNCATED;
	next = ip[6];

	for (i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
		uint32_t len;

		if (next == 0 || next == 43 || next == 60) { /* hop-by-hop, routing, destination options */
			if (off + 2 > end)
				return DECODE_TRUNCATED;
			len = ((uint32_t)ip[off + 1] + 1) * 8;
		} else if (next == 51) { /* authentication header */
			if (off + 2 > end)
				return DECODE_TRUNCATED;
			len = ((uint32_t)ip[off + 1] + 2) * 4;
		} else if (next == 44) { /* fragment */
			if (off + 8 > end)
				return DECODE_TRUNCATED;
			if ((rd16(ip + off + 2) & 0xfff8) != 0)
				return DECODE_FRAGMENT;
			len = 8;
		} else {
			break;
		}
		if (off + len > end)
			return DECODE_TRUNCATED;
		next = ip[off];
		off += len;
	}
	if (i == MAX_IPV6_EXT_HEADERS)
		return DECODE_MALFORMED;

	pi->ip_version = 6;
	pi->l4_proto = next;
	memcpy(pi->src, ip + 8, 16);
	memcpy(pi->dst, ip + 24, 16);
	*l4_off = off;
	*l4_len = end - off;
	return DECODE_OK;
}

static void decode_l4(struct packet_info *pi, uint32_t l4_off, uint32_t l4_len)
{
	const uint8_t *l4 = pi->l3 + l4_off;

	/* Too short for a TCP/UDP header: keyed without ports, as ndpiReader does. */
	if (pi->l4_proto == IPPROTO_TCP && l4_len >= 20) {
		pi->sport = rd16(l4);
		pi->dport = rd16(l4 + 2);
		pi->tcp_flags = l4[13];
	} else if (pi->l4_proto == IPPROTO_UDP && l4_len >= 8) {
		pi->sport = rd16(l4);
		pi->dport = rd16(l4 + 2);
	}
}

enum decode_result decode_packet(int linktype, const struct pcap_pkthdr *hdr, const uint8_t *frame,
				 struct packet_info *pi)
{
	uint32_t caplen = hdr->caplen, off = 0, l4_off = 0, l4_len = 0, avail;
	uint16_t ethertype = 0;
	enum decode_result r;

	memset(pi, 0, sizeof(*pi));
	pi->wire_len = hdr->len;

	r = decode_link(linktype, frame, caplen, &ethertype, &off);
	if (r != DECODE_OK)
		return r;
	r = decode_vlan(frame, caplen, &ethertype, &off, pi);
	if (r != DECODE_OK)
		return r;
	if (ethertype != ETHERTYPE_IPV4 && ethertype != ETHERTYPE_IPV6)
		return DECODE_NOT_IP;
	if (off >= caplen)
		return DECODE_TRUNCATED;

	avail = caplen - off;
	pi->l3 = frame + off;
	/* nDPI takes an unsigned short length; IP packets never exceed it. */
	pi->l3_len = (uint16_t)(avail > 0xffff ? 0xffff : avail);

	r = ethertype == ETHERTYPE_IPV4 ? decode_ipv4(pi, avail, &l4_off, &l4_len)
					: decode_ipv6(pi, avail, &l4_off, &l4_len);
	if (r != DECODE_OK)
		return r;
	decode_l4(pi, l4_off, l4_len);
	return DECODE_OK;
}
