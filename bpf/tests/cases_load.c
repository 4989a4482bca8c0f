// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Load shedding: with load_sample_one_in > 1, INSPECT flows that may be shed
 * mirror all of their first FOS1_LOAD_SHED_AFTER_PACKETS packets, then 1 in N;
 * critical, watched and anomalous flows, and everything else, are untouched.
 */
#include <linux/pkt_cls.h>
#include <string.h>
#include "harness.h"
#include "specs.h"

#define SHED_ONE_IN 4
/* The packets after the kept ones that the 1-in-4 cases look at. */
#define AFTER_KEPT 40

static int set_load_sampling(__u32 one_in)
{
	struct fos1_config c;

	if (config_get(&c))
		return -1;
	c.load_sample_one_in = one_in;
	return config_put(&c);
}

/*
 * Sends n packets of the flow, the odd ones as replies through the uplink
 * program, and records which were mirrored (mirrored[i] = copies of packet i).
 * Every packet must pass unchanged: shedding only ever skips a mirror copy.
 */
static int send_both_ways(const struct pkt_spec *s, int n, int *mirrored)
{
	struct pkt_spec back = reversed(*s);
	struct run r;
	int i;

	for (i = 0; i < n; i++) {
		CHECK_OK(i & 1 ? run_pkt(HOOK_UPLINK, &back, &r) : run_pkt(HOOK_LAN, s, &r));
		CHECK(r.ret == TC_ACT_OK, "packet %d: verdict %d, expected TC_ACT_OK", i, r.ret);
		CHECK(r.out_len == r.in_len && memcmp(r.out, r.in, r.in_len) == 0, "packet %d changed", i);
		if (r.mirrored)
			CHECK(memcmp(r.mirror, r.in, r.in_len) == 0, "packet %d: the mirrored copy is not the packet", i);
		mirrored[i] = r.mirrored;
	}
	return 0;
}

static int count_mirrored(const int *mirrored, int from, int to)
{
	int i, n = 0;

	for (i = from; i < to; i++)
		n += mirrored[i];
	return n;
}

/* The next kept + AFTER_KEPT packets of the flow are all mirrored, and nothing is counted as shed. */
static int expect_fully_mirrored(const struct pkt_spec *s)
{
	int mirrored[FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT];
	int n = FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT;
	__u64 before = stat_get(FOS1_STAT_MIRRORED);

	CHECK_OK(send_both_ways(s, n, mirrored));
	CHECK_EQ(count_mirrored(mirrored, 0, n), n);
	CHECK_EQ(stat_get(FOS1_STAT_MIRRORED) - before, n);
	CHECK_EQ(stat_get(FOS1_STAT_LOAD_SHED), 0);
	return 0;
}

static int load_shedding_off_mirrors_every_packet(void)
{
	struct pkt_spec s = udp4();

	CHECK_OK(set_load_sampling(0));
	CHECK_OK(expect_fully_mirrored(&s));
	/* 1 in 1 is every packet too. */
	CHECK_OK(reset_maps());
	CHECK_OK(set_load_sampling(1));
	return expect_fully_mirrored(&s);
}

static int load_shedding_keeps_first_packets_then_mirrors_one_in_n(void)
{
	int mirrored[FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT];
	int n = FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT, i;
	struct pkt_spec s = tcp4();
	struct fos1_flow f;

	CHECK_OK(set_load_sampling(SHED_ONE_IN));
	CHECK_OK(send_both_ways(&s, n, mirrored));
	CHECK_EQ(count_mirrored(mirrored, 0, FOS1_LOAD_SHED_AFTER_PACKETS), FOS1_LOAD_SHED_AFTER_PACKETS);
	/* Packet number k (from 1, both directions) past the kept ones is mirrored when (k - kept) % N == 0. */
	for (i = FOS1_LOAD_SHED_AFTER_PACKETS; i < n; i++)
		CHECK(mirrored[i] == ((i + 1 - FOS1_LOAD_SHED_AFTER_PACKETS) % SHED_ONE_IN == 0),
		      "packet %d mirrored %d times", i + 1, mirrored[i]);
	CHECK_EQ(count_mirrored(mirrored, FOS1_LOAD_SHED_AFTER_PACKETS, n), AFTER_KEPT / SHED_ONE_IN);
	CHECK_EQ(stat_get(FOS1_STAT_MIRRORED), FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT / SHED_ONE_IN);
	CHECK_EQ(stat_get(FOS1_STAT_LOAD_SHED), AFTER_KEPT - AFTER_KEPT / SHED_ONE_IN);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK_EQ(f.packets[FOS1_DIR_ORIG] + f.packets[FOS1_DIR_REPLY], n);
	return 0;
}

static int critical_flow_is_fully_mirrored_under_load(void)
{
	struct pkt_spec s = udp4();

	CHECK_OK(lpm_put(FOS1_MAP_CRITICAL, "198.51.100.0", 24, 1));
	CHECK_OK(set_load_sampling(SHED_ONE_IN));
	return expect_fully_mirrored(&s);
}

static int watched_flow_is_fully_mirrored_under_load(void)
{
	struct pkt_spec s = tcp6();

	CHECK_OK(lpm_put(FOS1_MAP_WATCH, CLIENT6, 128, 1));
	CHECK_OK(set_load_sampling(SHED_ONE_IN));
	return expect_fully_mirrored(&s);
}

/* An anomaly sent the flow back to be inspected: sampling it would hide what inspection is looking for. */
static int anomalous_flow_is_fully_mirrored_under_load(void)
{
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(flow_get(&s, &f));
	f.flags |= FOS1_FLOW_F_ANOMALY;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(set_load_sampling(SHED_ONE_IN));
	return expect_fully_mirrored(&s);
}

static int unselected_workload_is_never_mirrored_under_load(void)
{
	int mirrored[FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT];
	int n = FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT;
	struct pkt_spec s = udp4();
	struct fos1_config c;

	CHECK_OK(config_get(&c));
	c.flags &= ~FOS1_CFG_INSPECT_ALL;
	c.load_sample_one_in = SHED_ONE_IN;
	CHECK_OK(config_put(&c));
	CHECK_OK(send_both_ways(&s, n, mirrored));
	CHECK_EQ(count_mirrored(mirrored, 0, n), 0);
	CHECK_EQ(stat_get(FOS1_STAT_MIRRORED), 0);
	/* Nothing was withheld from the sensors: there was nothing to send them. */
	CHECK_EQ(stat_get(FOS1_STAT_LOAD_SHED), 0);
	return 0;
}

static int offloaded_flow_is_sampled_by_sample_one_in_only(void)
{
	struct pkt_spec s = udp4();
	struct fos1_config c;
	struct run r;
	int i, mirrored = 0, redirected = 0;

	CHECK_OK(config_get(&c));
	c.sample_one_in = 8;
	c.load_sample_one_in = 3;
	CHECK_OK(config_put(&c));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	for (i = 0; i < FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT; i++) {
		CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
		mirrored += r.mirrored;
		redirected += r.ret == TC_ACT_REDIRECT;
	}
	CHECK_EQ(redirected, FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT);
	CHECK_EQ(mirrored, (FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT) / 8);
	CHECK_EQ(stat_get(FOS1_STAT_SAMPLED), (FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT) / 8);
	CHECK_EQ(stat_get(FOS1_STAT_LOAD_SHED), 0);
	return 0;
}

static int switching_load_shedding_off_mirrors_every_packet_at_once(void)
{
	int mirrored[FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT];
	int n = FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT, shed;
	struct pkt_spec s = udp4();

	CHECK_OK(set_load_sampling(SHED_ONE_IN));
	CHECK_OK(send_both_ways(&s, n, mirrored));
	shed = (int)stat_get(FOS1_STAT_LOAD_SHED);
	CHECK_EQ(shed, AFTER_KEPT - AFTER_KEPT / SHED_ONE_IN);
	CHECK_OK(set_load_sampling(0));
	CHECK_OK(send_both_ways(&s, 2 * SHED_ONE_IN, mirrored));
	CHECK_EQ(count_mirrored(mirrored, 0, 2 * SHED_ONE_IN), 2 * SHED_ONE_IN);
	CHECK_EQ(stat_get(FOS1_STAT_LOAD_SHED), shed);
	return 0;
}

static int blocked_flow_is_dropped_under_load(void)
{
	struct pkt_spec s = udp4();
	int mirrored[FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT];
	struct run r;

	CHECK_OK(set_load_sampling(SHED_ONE_IN));
	CHECK_OK(send_both_ways(&s, FOS1_LOAD_SHED_AFTER_PACKETS + AFTER_KEPT, mirrored));
	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_SRC, CLIENT4, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_EQ(r.mirrored, 0);
	CHECK_EQ(stat_get(FOS1_STAT_BLOCKED), 1);
	return 0;
}

CASES(cases_load) = {
	{ "load_shedding_off_mirrors_every_packet", load_shedding_off_mirrors_every_packet },
	{ "load_shedding_keeps_first_packets_then_mirrors_one_in_n",
	  load_shedding_keeps_first_packets_then_mirrors_one_in_n },
	{ "critical_flow_is_fully_mirrored_under_load", critical_flow_is_fully_mirrored_under_load },
	{ "watched_flow_is_fully_mirrored_under_load", watched_flow_is_fully_mirrored_under_load },
	{ "anomalous_flow_is_fully_mirrored_under_load", anomalous_flow_is_fully_mirrored_under_load },
	{ "unselected_workload_is_never_mirrored_under_load", unselected_workload_is_never_mirrored_under_load },
	{ "offloaded_flow_is_sampled_by_sample_one_in_only", offloaded_flow_is_sampled_by_sample_one_in_only },
	{ "switching_load_shedding_off_mirrors_every_packet_at_once",
	  switching_load_shedding_off_mirrors_every_packet_at_once },
	{ "blocked_flow_is_dropped_under_load", blocked_flow_is_dropped_under_load },
};
CASES_COUNT(cases_load);
