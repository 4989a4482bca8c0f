// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow tracking and mirroring of INSPECT flows. */
#include <linux/pkt_cls.h>
#include <string.h>
#include "harness.h"
#include "specs.h"

static int new_tcp_flow_is_inspect_and_mirrored(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK(f.flags & FOS1_FLOW_F_SELECTED, "flow not marked selected: flags 0x%x", f.flags);
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	CHECK_EQ(f.bytes[FOS1_DIR_ORIG], r.in_len);
	CHECK(f.first_seen_ns > 0 && f.first_seen_ns <= now_ns(), "first_seen_ns %llu", (unsigned long long)f.first_seen_ns);
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 1);
	CHECK_EQ(r.mirrored, 1);
	CHECK_EQ(r.mirror_len, r.in_len);
	CHECK(memcmp(r.mirror, r.in, r.in_len) == 0, "mirrored copy differs from the packet");
	CHECK(r.out_len == r.in_len && memcmp(r.out, r.in, r.in_len) == 0, "slow path changed the packet");
	return 0;
}

static int new_udp_flow_is_inspect(void)
{
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK_EQ(r.mirrored, 1);
	CHECK_EQ(stat_get(FOS1_STAT_MIRRORED), 1);
	return 0;
}

static int reverse_direction_finds_the_same_flow(void)
{
	struct pkt_spec s = tcp4(), back = reversed(tcp4());
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(run_pkt(HOOK_UPLINK, &back, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 1);
	CHECK_OK(flow_get(&back, &f));
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	CHECK_EQ(f.packets[FOS1_DIR_REPLY], 1);
	return 0;
}

static int counters_count_bytes_per_direction(void)
{
	struct pkt_spec s = udp4(), back = reversed(udp4());
	__u64 orig_bytes = 0, reply_bytes = 0;
	struct fos1_flow f;
	struct run r;
	int i;

	for (i = 0; i < 3; i++) {
		s.payload = 10 + (size_t)i;
		CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
		orig_bytes += r.in_len;
	}
	back.payload = 100;
	CHECK_OK(run_pkt(HOOK_UPLINK, &back, &r));
	reply_bytes += r.in_len;
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 3);
	CHECK_EQ(f.packets[FOS1_DIR_REPLY], 1);
	CHECK_EQ(f.bytes[FOS1_DIR_ORIG], orig_bytes);
	CHECK_EQ(f.bytes[FOS1_DIR_REPLY], reply_bytes);
	CHECK(f.last_seen_ns >= f.first_seen_ns, "last_seen before first_seen");
	return 0;
}

static int icmp_echo_reply_finds_the_request_flow(void)
{
	struct pkt_spec req = { .src = CLIENT4, .dst = SERVER4, .proto = IPPROTO_ICMP, .sport = 777, .payload = 16 };
	struct pkt_spec rep = req;
	struct fos1_flow f;
	struct run r;

	rep.src = SERVER4;
	rep.dst = CLIENT4;
	rep.icmp_type = 0;
	CHECK_OK(run_pkt(HOOK_LAN, &req, &r));
	CHECK_OK(run_pkt(HOOK_UPLINK, &rep, &r));
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 1);
	CHECK_OK(flow_get(&req, &f));
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	CHECK_EQ(f.packets[FOS1_DIR_REPLY], 1);
	return 0;
}

static int ipv6_tcp_flow_and_its_reply(void)
{
	struct pkt_spec s = tcp6(), back = reversed(tcp6());
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(run_pkt(HOOK_UPLINK, &back, &r));
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	CHECK_EQ(f.packets[FOS1_DIR_REPLY], 1);
	return 0;
}

static int icmpv6_echo_is_one_flow(void)
{
	struct pkt_spec req = { .v6 = 1, .src = CLIENT6, .dst = SERVER6, .proto = IPPROTO_ICMPV6, .sport = 99 };
	struct pkt_spec rep = req;
	struct fos1_flow f;
	struct run r;

	rep.src = SERVER6;
	rep.dst = CLIENT6;
	rep.icmp_type = 129;
	CHECK_OK(run_pkt(HOOK_LAN, &req, &r));
	CHECK_OK(run_pkt(HOOK_UPLINK, &rep, &r));
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 1);
	CHECK_OK(flow_get(&req, &f));
	CHECK_EQ(f.packets[FOS1_DIR_REPLY], 1);
	return 0;
}

static int vlan_id_is_part_of_the_key(void)
{
	struct pkt_spec a = tcp4(), b = tcp4();
	struct fos1_flow f;
	struct run r;

	a.vlan = 10;
	b.vlan = 20;
	CHECK_OK(run_pkt(HOOK_LAN, &a, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_OK(run_pkt(HOOK_LAN, &b, &r));
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 2);
	CHECK_OK(flow_get(&a, &f));
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	CHECK_OK(flow_get(&b, &f));
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 1);
	b = reversed(b);
	CHECK_OK(run_pkt(HOOK_UPLINK, &b, &r));
	CHECK_OK(flow_get(&b, &f));
	CHECK_EQ(f.packets[FOS1_DIR_REPLY], 1);
	return 0;
}

static int unselected_workload_is_not_mirrored(void)
{
	struct fos1_config c;
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(config_get(&c));
	c.flags &= ~FOS1_CFG_INSPECT_ALL;
	CHECK_OK(config_put(&c));
	CHECK_OK(lpm_put(FOS1_MAP_INSPECT_SELECT, "10.9.0.0", 16, 1));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 0);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.flags & FOS1_FLOW_F_SELECTED, 0);
	CHECK_EQ(stat_get(FOS1_STAT_MIRRORED), 0);
	return 0;
}

static int selected_prefix_is_mirrored_both_ways(void)
{
	struct fos1_config c;
	struct pkt_spec s = tcp4(), back = reversed(tcp4());
	struct run r;

	CHECK_OK(config_get(&c));
	c.flags &= ~FOS1_CFG_INSPECT_ALL;
	CHECK_OK(config_put(&c));
	CHECK_OK(lpm_put(FOS1_MAP_INSPECT_SELECT, "10.1.0.0", 24, 1));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(run_pkt(HOOK_UPLINK, &back, &r));
	CHECK_EQ(r.mirrored, 1);
	CHECK(memcmp(r.mirror, r.in, r.in_len) == 0, "mirrored reply differs from the packet");
	return 0;
}

static int selected_ipv6_prefix_is_mirrored(void)
{
	struct fos1_config c;
	struct pkt_spec s = tcp6();
	struct run r;

	CHECK_OK(config_get(&c));
	c.flags &= ~FOS1_CFG_INSPECT_ALL;
	CHECK_OK(config_put(&c));
	CHECK_OK(lpm_put(FOS1_MAP_INSPECT_SELECT, "2001:db8::", 32, 1));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mirrored, 1);
	s.src = "fd01::11";
	s.dst = "2001:db9::1";
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mirrored, 0);
	return 0;
}

static int no_mirror_interface_means_no_clone(void)
{
	struct fos1_config c;
	struct pkt_spec s = tcp4();
	struct run r;

	CHECK_OK(config_get(&c));
	c.mirror_ifindex = 0;
	CHECK_OK(config_put(&c));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 0);
	CHECK_EQ(stat_get(FOS1_STAT_MIRROR_FAILED), 0);
	return 0;
}

static int non_ip_frame_passes_untouched(void)
{
	struct run r;
	__u8 arp[60] = { 0x02, 0xfb, 0, 0, 1, 1, 0x02, 0xfb, 0, 0, 1, 2, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 };

	CHECK_OK(run_frame(HOOK_LAN, arp, sizeof(arp), 0, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 0);
	CHECK_EQ(stat_get(FOS1_STAT_NOT_IP), 1);
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 0);
	CHECK(memcmp(r.out, arp, sizeof(arp)) == 0, "ARP frame changed");
	return 0;
}

CASES(cases_flow) = {
	{ "new_tcp_flow_is_inspect_and_mirrored", new_tcp_flow_is_inspect_and_mirrored },
	{ "new_udp_flow_is_inspect", new_udp_flow_is_inspect },
	{ "reverse_direction_finds_the_same_flow", reverse_direction_finds_the_same_flow },
	{ "counters_count_bytes_per_direction", counters_count_bytes_per_direction },
	{ "icmp_echo_reply_finds_the_request_flow", icmp_echo_reply_finds_the_request_flow },
	{ "ipv6_tcp_flow_and_its_reply", ipv6_tcp_flow_and_its_reply },
	{ "icmpv6_echo_is_one_flow", icmpv6_echo_is_one_flow },
	{ "vlan_id_is_part_of_the_key", vlan_id_is_part_of_the_key },
	{ "unselected_workload_is_not_mirrored", unselected_workload_is_not_mirrored },
	{ "selected_prefix_is_mirrored_both_ways", selected_prefix_is_mirrored_both_ways },
	{ "selected_ipv6_prefix_is_mirrored", selected_ipv6_prefix_is_mirrored },
	{ "no_mirror_interface_means_no_clone", no_mirror_interface_means_no_clone },
	{ "non_ip_frame_passes_untouched", non_ip_frame_passes_untouched },
};
CASES_COUNT(cases_flow);
