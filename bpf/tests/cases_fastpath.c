// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The fast path of OFFLOADED flows: FIB forward, sampling, re-inspection. */
#include <linux/pkt_cls.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "specs.h"

static const __u8 mac_wan[6] = { 0x02, 0xfb, 0, 0, 0x02, 0x01 };
static const __u8 mac_wan_gw[6] = { 0x02, 0xfb, 0, 0, 0x02, 0x02 };
static const __u8 mac_lan[6] = { 0x02, 0xfb, 0, 0, 0x01, 0x01 };
static const __u8 mac_client[6] = { 0x02, 0xfb, 0, 0, 0x01, 0x02 };

/* Forwarded as the kernel would: next-hop MACs, TTL - 1, valid checksum, nothing else changed. */
static int expect_forwarded(const struct run *r, const __u8 *dmac, const __u8 *smac)
{
	int v4 = r->in[12] == 0x08;
	size_t ttl_off = v4 ? 14 + 8 : 14 + 7;
	/* For IPv4 the header checksum follows the TTL and protocol; it is verified instead. */
	size_t same_from = v4 ? ttl_off + 4 : ttl_off + 1;

	CHECK_EQ(r->ret, TC_ACT_REDIRECT);
	CHECK_EQ(r->out_len, r->in_len);
	CHECK(memcmp(r->out, dmac, 6) == 0, "destination MAC not the next hop's");
	CHECK(memcmp(r->out + 6, smac, 6) == 0, "source MAC not the egress device's");
	CHECK_EQ(r->out[ttl_off], r->in[ttl_off] - 1);
	if (v4)
		CHECK(ipv4_csum_ok(r->out), "IPv4 checksum invalid after TTL decrement");
	CHECK(memcmp(r->out + 12, r->in + 12, ttl_off - 12) == 0, "bytes between the MACs and the TTL changed");
	CHECK(memcmp(r->out + same_from, r->in + same_from, r->in_len - same_from) == 0,
	      "bytes after the TTL changed");
	CHECK_EQ(r->mirrored, 0);
	return 0;
}

static int offloaded_flow_is_forwarded_not_mirrored(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(expect_forwarded(&r, mac_wan_gw, mac_wan));
	CHECK_EQ(stat_get(FOS1_STAT_FASTPATH), 1);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_OFFLOADED);
	CHECK_EQ(f.packets[FOS1_DIR_ORIG], 2);
	return 0;
}

static int offloaded_reply_is_forwarded_to_the_lan(void)
{
	struct pkt_spec s = udp4(), back = reversed(udp4());
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_UPLINK, &back, &r));
	return expect_forwarded(&r, mac_client, mac_lan);
}

static int offloaded_ipv6_flow_is_forwarded(void)
{
	struct pkt_spec s = tcp6();
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	return expect_forwarded(&r, mac_wan_gw, mac_wan);
}

static int offloaded_flow_is_sampled_one_in_n(void)
{
	struct pkt_spec s = udp4();
	struct fos1_config c;
	struct run r;
	int i, mirrored = 0, redirected = 0;

	CHECK_OK(config_get(&c));
	c.sample_one_in = 4;
	CHECK_OK(config_put(&c));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	for (i = 0; i < 8; i++) {
		CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
		mirrored += r.mirrored;
		redirected += r.ret == TC_ACT_REDIRECT;
		if (r.mirrored)
			CHECK(memcmp(r.mirror, r.in, r.in_len) == 0, "sample is not the original packet");
	}
	CHECK_EQ(mirrored, 2);
	CHECK_EQ(redirected, 8);
	CHECK_EQ(stat_get(FOS1_STAT_SAMPLED), 2);
	return 0;
}

static int unselected_offloaded_flow_is_not_sampled(void)
{
	struct pkt_spec s = udp4();
	struct fos1_config c;
	struct run r;
	int i, mirrored = 0;

	CHECK_OK(config_get(&c));
	c.sample_one_in = 1;
	c.flags &= ~FOS1_CFG_INSPECT_ALL;
	CHECK_OK(config_put(&c));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	for (i = 0; i < 3; i++) {
		CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
		mirrored += r.mirrored;
	}
	CHECK_EQ(mirrored, 0);
	return 0;
}

static int tcp_fin_on_offloaded_flow_takes_slow_path(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	s.tcp_flags = 0x11;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK(memcmp(r.out, r.in, r.in_len) == 0, "slow-path packet changed");
	CHECK_EQ(stat_get(FOS1_STAT_FASTPATH_FALLBACK), 1);
	return 0;
}

static int ttl_one_takes_slow_path(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	s.ttl = 1;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK(memcmp(r.out, r.in, r.in_len) == 0, "TTL-expiring packet changed: the kernel must answer it");
	CHECK_EQ(stat_get(FOS1_STAT_FASTPATH_FALLBACK), 1);
	return 0;
}

static int fib_without_neighbour_takes_slow_path(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	s.dst = "10.2.0.9";
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK(memcmp(r.out, r.in, r.in_len) == 0, "packet changed before a failed FIB lookup");
	CHECK_EQ(stat_get(FOS1_STAT_FASTPATH_FALLBACK), 1);
	return 0;
}

static int vlan_tagged_offloaded_flow_takes_slow_path(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	s.vlan = 30;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(stat_get(FOS1_STAT_FASTPATH_FALLBACK), 1);
	return 0;
}

static int reinspect_deadline_is_set_at_first_fast_packet(void)
{
	struct pkt_spec s = udp4();
	struct fos1_config c;
	struct fos1_flow f;
	struct run r;
	__u64 before;

	CHECK_OK(config_get(&c));
	c.reinspect_after_ns = 60ull * 1000000000ull;
	CHECK_OK(config_put(&c));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	before = now_ns();
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_OK(flow_get(&s, &f));
	CHECK(f.offload_deadline_ns >= before + c.reinspect_after_ns &&
		      f.offload_deadline_ns <= now_ns() + c.reinspect_after_ns,
	      "deadline %llu not now + 60 s", (unsigned long long)f.offload_deadline_ns);
	return 0;
}

static int reinspect_deadline_returns_flow_to_inspect(void)
{
	struct pkt_spec s = udp4();
	struct fos1_config c;
	struct fos1_flow f;
	struct run r;

	CHECK_OK(config_get(&c));
	c.reinspect_after_ns = 60ull * 1000000000ull;
	CHECK_OK(config_put(&c));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(flow_get(&s, &f));
	f.offload_deadline_ns = now_ns() - 1;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK_EQ(f.offload_deadline_ns, 0);
	CHECK_EQ(stat_get(FOS1_STAT_REINSPECT_DEADLINE), 1);
	return 0;
}

static int anomaly_returns_flow_to_inspect(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_OK(flow_get(&s, &f));
	f.flags |= FOS1_FLOW_F_ANOMALY;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK_EQ(stat_get(FOS1_STAT_OFFLOAD_REVOKED), 1);
	return 0;
}

static int next_hop_is_cached_then_revalidated(void)
{
	static const __u8 new_gw[6] = { 0x02, 0xfb, 0, 0, 0x02, 0x99 };
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct run r;
	int ret = 0;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.nh_ifindex[FOS1_DIR_ORIG], H.ns.if_wan);
	CHECK(memcmp(f.nh_dmac[FOS1_DIR_ORIG], mac_wan_gw, 6) == 0, "gateway MAC not cached");
	CHECK_OK(system("ip neigh replace 10.2.0.2 lladdr 02:fb:00:00:02:99 dev " FB_IF_WAN " nud permanent"));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	if (memcmp(r.out, mac_wan_gw, 6) != 0) {
		snprintf(H.fail, sizeof(H.fail), "the cached next hop was not used within its lifetime");
		ret = -1;
	}
	if (!ret && flow_get(&s, &f) == 0) {
		f.nh_checked_ns[FOS1_DIR_ORIG] = 1;
		flow_put(&s, &f);
		run_pkt(HOOK_LAN, &s, &r);
		if (r.ret != TC_ACT_REDIRECT || memcmp(r.out, new_gw, 6) != 0) {
			snprintf(H.fail, sizeof(H.fail), "an expired next hop was not looked up again");
			ret = -1;
		}
	}
	if (system("ip neigh replace 10.2.0.2 lladdr " FB_MAC_WAN_GW " dev " FB_IF_WAN " nud permanent"))
		ret = -1;
	return ret;
}

static int cached_next_hop_checks_the_mtu(void)
{
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.nh_mtu[FOS1_DIR_ORIG], 1500);
	f.nh_mtu[FOS1_DIR_ORIG] = 40;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK(memcmp(r.out, r.in, r.in_len) == 0, "too-big packet changed: the kernel must answer it");
	return 0;
}

CASES(cases_fastpath) = {
	{ "next_hop_is_cached_then_revalidated", next_hop_is_cached_then_revalidated },
	{ "cached_next_hop_checks_the_mtu", cached_next_hop_checks_the_mtu },
	{ "offloaded_flow_is_forwarded_not_mirrored", offloaded_flow_is_forwarded_not_mirrored },
	{ "offloaded_reply_is_forwarded_to_the_lan", offloaded_reply_is_forwarded_to_the_lan },
	{ "offloaded_ipv6_flow_is_forwarded", offloaded_ipv6_flow_is_forwarded },
	{ "offloaded_flow_is_sampled_one_in_n", offloaded_flow_is_sampled_one_in_n },
	{ "unselected_offloaded_flow_is_not_sampled", unselected_offloaded_flow_is_not_sampled },
	{ "tcp_fin_on_offloaded_flow_takes_slow_path", tcp_fin_on_offloaded_flow_takes_slow_path },
	{ "ttl_one_takes_slow_path", ttl_one_takes_slow_path },
	{ "fib_without_neighbour_takes_slow_path", fib_without_neighbour_takes_slow_path },
	{ "vlan_tagged_offloaded_flow_takes_slow_path", vlan_tagged_offloaded_flow_takes_slow_path },
	{ "reinspect_deadline_is_set_at_first_fast_packet", reinspect_deadline_is_set_at_first_fast_packet },
	{ "reinspect_deadline_returns_flow_to_inspect", reinspect_deadline_returns_flow_to_inspect },
	{ "anomaly_returns_flow_to_inspect", anomaly_returns_flow_to_inspect },
};
CASES_COUNT(cases_fastpath);
