// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Parsing edge cases: fragments, extension headers, truncated and malformed headers. */
#include <linux/pkt_cls.h>
#include <string.h>
#include "harness.h"
#include "specs.h"

/* A packet the programs cannot trust passes unchanged, creates no flow and is counted. */
static int expect_untracked(const struct run *r, enum fos1_stat counted)
{
	CHECK_EQ(r->ret, TC_ACT_OK);
	CHECK(r->out_len == r->in_len && memcmp(r->out, r->in, r->in_len) == 0, "packet changed");
	CHECK_EQ(stat_get(counted), 1);
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 0);
	return 0;
}

static int ipv4_first_fragment_stays_on_slow_path(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	s.frag_off = 0x2000;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(expect_untracked(&r, FOS1_STAT_FRAGMENTS));
	CHECK_EQ(r.mirrored, 1);
	return 0;
}

static int ipv4_later_fragment_stays_on_slow_path(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	s.frag_off = 185;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	return expect_untracked(&r, FOS1_STAT_FRAGMENTS);
}

static int fragment_of_offloaded_flow_is_not_fast_pathed(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	s.frag_off = 0x2000;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(stat_get(FOS1_STAT_FASTPATH), 0);
	CHECK_EQ(stat_get(FOS1_STAT_FRAGMENTS), 1);
	return 0;
}

static int ipv6_fragment_header_stays_on_slow_path(void)
{
	struct pkt_spec s = tcp6();
	struct run r;

	s.v6_ext[0] = IPPROTO_FRAGMENT;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	return expect_untracked(&r, FOS1_STAT_FRAGMENTS);
}

static int ipv6_extension_headers_are_skipped(void)
{
	struct pkt_spec s = tcp6();
	struct fos1_flow_key k;
	struct fos1_flow f;
	struct run r;

	s.v6_ext[0] = IPPROTO_HOPOPTS;
	s.v6_ext[1] = IPPROTO_DSTOPTS;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	/* flow_key_of uses the spec's ports: found only if the program read the TCP header behind both. */
	flow_key_of(&s, &k);
	CHECK_OK(bpf_map_lookup_elem(map_fd(FOS1_MAP_FLOWS), &k, &f));
	CHECK_EQ(k.proto, IPPROTO_TCP);
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	return 0;
}

static int truncated_vlan_tag_is_malformed(void)
{
	struct run r;
	__u8 frame[16] = { 0x02, 0xfb, 0, 0, 1, 1, 0x02, 0xfb, 0, 0, 1, 2, 0x81, 0x00, 0x00, 0x0a };

	CHECK_OK(run_frame(HOOK_LAN, frame, sizeof(frame), 0, &r));
	return expect_untracked(&r, FOS1_STAT_MALFORMED);
}

/* Behind a VLAN tag: the kernel's test-run refuses an untagged IPv4 frame shorter than an IP header. */
static int truncated_ipv4_header_is_malformed(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	s.vlan = 5;
	r.in_len = (__u32)pkt_build(&s, r.in);
	CHECK_OK(run_frame(HOOK_LAN, r.in, 18 + 12, 0, &r));
	r.in_len = 18 + 12;
	return expect_untracked(&r, FOS1_STAT_MALFORMED);
}

static int bad_ihl_is_malformed(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	r.in_len = (__u32)pkt_build(&s, r.in);
	r.in[14] = 0x44;
	CHECK_OK(run_frame(HOOK_LAN, r.in, r.in_len, 0, &r));
	return expect_untracked(&r, FOS1_STAT_MALFORMED);
}

static int ihl_beyond_packet_is_malformed(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	s.payload = 0;
	r.in_len = (__u32)pkt_build(&s, r.in);
	r.in[14] = 0x4f;
	CHECK_OK(run_frame(HOOK_LAN, r.in, 14 + 40, 0, &r));
	r.in_len = 14 + 40;
	return expect_untracked(&r, FOS1_STAT_MALFORMED);
}

static int truncated_tcp_header_is_malformed_but_mirrored(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	r.in_len = (__u32)pkt_build(&s, r.in);
	CHECK_OK(run_frame(HOOK_LAN, r.in, 14 + 20 + 12, 0, &r));
	r.in_len = 14 + 20 + 12;
	CHECK_OK(expect_untracked(&r, FOS1_STAT_MALFORMED));
	CHECK_EQ(r.mirrored, 1);
	return 0;
}

static int truncated_ipv6_extension_header_is_malformed(void)
{
	struct pkt_spec s = tcp6();
	struct run r;

	s.v6_ext[0] = IPPROTO_HOPOPTS;
	r.in_len = (__u32)pkt_build(&s, r.in);
	CHECK_OK(run_frame(HOOK_LAN, r.in, 14 + 40 + 1, 0, &r));
	r.in_len = 14 + 40 + 1;
	return expect_untracked(&r, FOS1_STAT_MALFORMED);
}

static int ipv4_options_are_skipped(void)
{
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct run r;
	__u8 *ip;
	size_t len;

	/* Rebuild with 4 bytes of options (NOP x4) between the header and UDP. */
	len = pkt_build(&s, r.in);
	ip = r.in + 14;
	memmove(ip + 24, ip + 20, len - 34);
	memset(ip + 20, 1, 4);
	ip[0] = 0x46;
	ip[2] = 0;
	ip[3] = (__u8)(len - 14 + 4);
	ip[10] = ip[11] = 0;
	{
		__u16 c = inet_csum(ip, 24, 0);

		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	}
	r.in_len = (__u32)len + 4;
	CHECK_OK(run_frame(HOOK_LAN, r.in, r.in_len, 0, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	return 0;
}

static int unknown_protocol_is_tracked_without_ports(void)
{
	struct pkt_spec s = { .src = CLIENT4, .dst = SERVER4, .proto = 47 /* GRE */, .payload = 24 };
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(flow_get(&s, &f));
	CHECK(f.flags & FOS1_FLOW_F_UNKNOWN_L4, "flags 0x%x lack UNKNOWN_L4", f.flags);
	return 0;
}

CASES(cases_parse) = {
	{ "ipv4_first_fragment_stays_on_slow_path", ipv4_first_fragment_stays_on_slow_path },
	{ "ipv4_later_fragment_stays_on_slow_path", ipv4_later_fragment_stays_on_slow_path },
	{ "fragment_of_offloaded_flow_is_not_fast_pathed", fragment_of_offloaded_flow_is_not_fast_pathed },
	{ "ipv6_fragment_header_stays_on_slow_path", ipv6_fragment_header_stays_on_slow_path },
	{ "ipv6_extension_headers_are_skipped", ipv6_extension_headers_are_skipped },
	{ "truncated_vlan_tag_is_malformed", truncated_vlan_tag_is_malformed },
	{ "truncated_ipv4_header_is_malformed", truncated_ipv4_header_is_malformed },
	{ "bad_ihl_is_malformed", bad_ihl_is_malformed },
	{ "ihl_beyond_packet_is_malformed", ihl_beyond_packet_is_malformed },
	{ "truncated_tcp_header_is_malformed_but_mirrored", truncated_tcp_header_is_malformed_but_mirrored },
	{ "truncated_ipv6_extension_header_is_malformed", truncated_ipv6_extension_header_is_malformed },
	{ "ipv4_options_are_skipped", ipv4_options_are_skipped },
	{ "unknown_protocol_is_tracked_without_ports", unknown_protocol_is_tracked_without_ports },
};
CASES_COUNT(cases_parse);
