// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The egress classifier: skb->priority and DSCP with ECN kept and checksums valid. */
#include <linux/pkt_cls.h>
#include <string.h>
#include "harness.h"
#include "specs.h"

#define DSCP_EF 46
#define DSCP_AF21 18
#define HTB_1_11 0x10011

/* Creates the flow on the LAN side and gives it class_id. */
static int classified_flow(const struct pkt_spec *s, __u32 class_id)
{
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, s, &r));
	CHECK_OK(flow_get(s, &f));
	f.class_id = class_id;
	return flow_put(s, &f);
}

static int dscp_rewrite_keeps_ecn_and_checksum(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	s.tos = (DSCP_AF21 << 2) | 0x3; /* ECN CE */
	CHECK_OK(qos_class_put(2, HTB_1_11, DSCP_EF));
	CHECK_OK(classified_flow(&s, 2));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.priority, HTB_1_11);
	CHECK_EQ(r.out[15], (DSCP_EF << 2) | 0x3);
	CHECK(ipv4_csum_ok(r.out), "IPv4 header checksum invalid after DSCP rewrite");
	CHECK(l4_csum_ok(r.out, r.out_len), "TCP checksum invalid after DSCP rewrite");
	CHECK(memcmp(r.out + 16, r.in + 16, 8) == 0 && memcmp(r.out + 26, r.in + 26, r.in_len - 26) == 0,
	      "bytes other than TOS and checksum changed");
	CHECK_EQ(stat_get(FOS1_STAT_DSCP_REWRITTEN), 1);
	return 0;
}

static int same_dscp_changes_no_byte(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	s.tos = (DSCP_EF << 2) | 0x1;
	CHECK_OK(qos_class_put(2, HTB_1_11, DSCP_EF));
	CHECK_OK(classified_flow(&s, 2));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, HTB_1_11);
	CHECK(r.out_len == r.in_len && memcmp(r.out, r.in, r.in_len) == 0, "a byte changed");
	CHECK_EQ(stat_get(FOS1_STAT_DSCP_REWRITTEN), 0);
	return 0;
}

static int dscp_zero_rewrite_keeps_udp_checksum(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	s.tos = (DSCP_AF21 << 2) | 0x2;
	CHECK_OK(qos_class_put(4, 0x10014, 0));
	CHECK_OK(classified_flow(&s, 4));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.out[15], 0x2);
	CHECK(ipv4_csum_ok(r.out), "IPv4 header checksum invalid");
	CHECK(l4_csum_ok(r.out, r.out_len), "UDP checksum invalid");
	return 0;
}

static int ipv6_dscp_rewrite_keeps_ecn_and_flow_label(void)
{
	struct pkt_spec s = tcp6();
	struct run r;
	__u32 w_in, w_out;

	s.tos = (DSCP_AF21 << 2) | 0x1;
	s.flow_label = 0xabcde;
	CHECK_OK(qos_class_put(2, HTB_1_11, DSCP_EF));
	CHECK_OK(classified_flow(&s, 2));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, HTB_1_11);
	w_in = (__u32)r.in[14] << 24 | (__u32)r.in[15] << 16 | (__u32)r.in[16] << 8 | r.in[17];
	w_out = (__u32)r.out[14] << 24 | (__u32)r.out[15] << 16 | (__u32)r.out[16] << 8 | r.out[17];
	CHECK_EQ(w_out >> 28, 6);
	CHECK_EQ((w_out >> 20) & 0xff, (DSCP_EF << 2) | 0x1);
	CHECK_EQ(w_out & 0xfffff, w_in & 0xfffff);
	CHECK(memcmp(r.out + 18, r.in + 18, r.in_len - 18) == 0, "bytes after the traffic class changed");
	CHECK(l4_csum_ok(r.out, r.out_len), "TCP checksum invalid");
	return 0;
}

static int class_comes_from_application_policy(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(qos_class_put(3, 0x10013, DSCP_AF21));
	CHECK_OK(app_policy_put(9, 3, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(flow_get(&s, &f));
	f.app_id = 9;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, 0x10013);
	CHECK_EQ(r.out[15] >> 2, DSCP_AF21);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.dscp, DSCP_AF21);
	return 0;
}

static int class_travels_in_mark_behind_nat(void)
{
	struct pkt_spec s = udp4(), natted = udp4();
	struct fos1_config c;
	struct run r, lan;

	CHECK_OK(config_get(&c));
	c.class_mark_mask = 0xff0000;
	c.class_mark_shift = 16;
	CHECK_OK(config_put(&c));
	CHECK_OK(qos_class_put(2, HTB_1_11, DSCP_EF));
	CHECK_OK(classified_flow(&s, 2));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &lan));
	CHECK_EQ(lan.mark, 2 << 16);
	/* After masquerade the source differs: no flow entry matches, the mark still does. */
	natted.src = "10.2.0.1";
	natted.sport = 61000;
	r.in_len = (__u32)pkt_build(&natted, r.in);
	CHECK_OK(run_frame(HOOK_CLASSIFY, r.in, r.in_len, lan.mark, &r));
	CHECK_EQ(r.priority, HTB_1_11);
	CHECK_EQ(r.out[15] >> 2, DSCP_EF);
	CHECK(ipv4_csum_ok(r.out), "IPv4 checksum invalid");
	return 0;
}

/* Without a default class (no QoS policy on the node) nothing is touched. */
static int unclassified_flow_is_untouched(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	s.tos = 0x28;
	CHECK_OK(qos_class_put(2, HTB_1_11, DSCP_EF));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, 0);
	CHECK(memcmp(r.out, r.in, r.in_len) == 0, "unclassified packet changed");
	CHECK_EQ(stat_get(FOS1_STAT_CLASSIFIED), 0);
	return 0;
}

/* With one, an unclassified flow (and traffic with no flow entry) is the default class's: best effort, ECN kept. */
static int unclassified_flow_gets_the_default_class(void)
{
	struct pkt_spec s = udp4(), stray = tcp4();
	struct run r;

	s.tos = (DSCP_EF << 2) | 0x2;
	CHECK_OK(qos_class_put(FOS1_DEFAULT_CLASS_ID, 0x10010, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, 0x10010);
	CHECK_EQ(r.out[15], 0x2);
	CHECK(ipv4_csum_ok(r.out), "IPv4 checksum invalid");
	CHECK(l4_csum_ok(r.out, r.out_len), "UDP checksum invalid");
	stray.tos = 0x20;
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &stray, &r));
	CHECK_EQ(r.priority, 0x10010);
	CHECK_EQ(r.out[15], 0);
	CHECK_EQ(stat_get(FOS1_STAT_CLASSIFIED), 2);
	return 0;
}

/* Every DSCP over varied TOS, ECN, TTL and tagging: checksums stay valid, ECN and every other byte stay. */
static int every_dscp_keeps_ecn_and_a_valid_checksum(void)
{
	struct fos1_config c;
	struct run r;
	__u8 d;

	CHECK_OK(config_get(&c));
	c.class_mark_mask = 0xff0000;
	c.class_mark_shift = 16;
	CHECK_OK(config_put(&c));
	for (d = 0; d < 64; d++) {
		struct pkt_spec s = d & 1 ? udp4() : tcp4();
		size_t l3, tos_off;

		s.vlan = d & 2 ? 40 : 0;
		s.tos = (__u8)(((d * 37 + 11) % 64) << 2 | (d % 4));
		s.ttl = (__u8)(1 + d * 4);
		CHECK_OK(qos_class_put(100 + d, 0x10000 + d, d));
		r.in_len = (__u32)pkt_build(&s, r.in);
		CHECK_OK(run_frame(HOOK_CLASSIFY, r.in, r.in_len, (__u32)(100 + d) << 16, &r));
		l3 = pkt_l3_off(r.in);
		tos_off = l3 + 1;
		CHECK(r.out[tos_off] == (__u8)(d << 2 | (d % 4)), "DSCP %u: TOS 0x%02x", d, r.out[tos_off]);
		CHECK(ipv4_csum_ok(r.out), "DSCP %u from TOS 0x%02x: IPv4 checksum invalid", d, s.tos);
		CHECK(l4_csum_ok(r.out, r.out_len), "DSCP %u: L4 checksum invalid", d);
		CHECK(memcmp(r.out, r.in, tos_off) == 0 && memcmp(r.out + tos_off + 1, r.in + tos_off + 1, 8) == 0 &&
			      memcmp(r.out + l3 + 12, r.in + l3 + 12, r.in_len - l3 - 12) == 0,
		      "DSCP %u: bytes other than TOS and checksum changed", d);
	}
	return 0;
}

CASES(cases_classify) = {
	{ "every_dscp_keeps_ecn_and_a_valid_checksum", every_dscp_keeps_ecn_and_a_valid_checksum },
	{ "dscp_rewrite_keeps_ecn_and_checksum", dscp_rewrite_keeps_ecn_and_checksum },
	{ "same_dscp_changes_no_byte", same_dscp_changes_no_byte },
	{ "dscp_zero_rewrite_keeps_udp_checksum", dscp_zero_rewrite_keeps_udp_checksum },
	{ "ipv6_dscp_rewrite_keeps_ecn_and_flow_label", ipv6_dscp_rewrite_keeps_ecn_and_flow_label },
	{ "class_comes_from_application_policy", class_comes_from_application_policy },
	{ "class_travels_in_mark_behind_nat", class_travels_in_mark_behind_nat },
	{ "unclassified_flow_is_untouched", unclassified_flow_is_untouched },
	{ "unclassified_flow_gets_the_default_class", unclassified_flow_gets_the_default_class },
};
CASES_COUNT(cases_classify);
