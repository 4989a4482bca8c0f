// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the programs keep instead of looking up per packet: each flow's copy of
 * its application policy and QoS class (valid for one policy_generation and
 * one key), and the per-CPU tick clock.
 */
#include <linux/pkt_cls.h>
#include <string.h>
#include <time.h>
#include "harness.h"
#include "specs.h"

#define APP 5
#define OTHER_APP 6
#define DSCP_EF 46
#define DSCP_AF21 18

/* The flow is offloaded and its first packet took the fast path, so its policy copy is filled. */
static int on_fast_path(const struct pkt_spec *s)
{
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, s, &r));
	CHECK_OK(offload_flow(s, APP));
	CHECK_OK(run_pkt(HOOK_LAN, s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	return 0;
}

/* The next packet is refused the fast path: slow path, mirrored, flow back to INSPECT. */
static int expect_revoked(const struct pkt_spec *s)
{
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(flow_get(s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK_EQ(stat_get(FOS1_STAT_OFFLOAD_REVOKED), 1);
	return 0;
}

static int app_policy_copy_holds_until_generation_bump(void)
{
	struct fos1_app_policy never = { .flags = FOS1_APP_OFFLOAD_ALLOWED | FOS1_APP_NEVER_OFFLOAD };
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct fos1_config c;
	struct run r;
	__u32 app = APP;

	CHECK_OK(on_fast_path(&s));
	CHECK_OK(config_get(&c));
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.app_key, APP);
	CHECK_EQ(f.app_gen, c.policy_generation);
	CHECK_EQ(f.app_flags, FOS1_APP_OFFLOAD_ALLOWED);
	/* Without a bump the copy stands: the agent's contract is to bump after writing. */
	CHECK_OK(bpf_map_update_elem(map_fd(FOS1_MAP_APP_POLICY), &app, &never, BPF_ANY));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_OK(policy_changed());
	CHECK_OK(expect_revoked(&s));
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.app_gen, c.policy_generation + 1);
	CHECK_EQ(f.app_flags, FOS1_APP_OFFLOAD_ALLOWED | FOS1_APP_NEVER_OFFLOAD);
	return 0;
}

static int app_opt_out_revokes_a_flow_already_on_the_fast_path(void)
{
	struct pkt_spec s = tcp4();
	__u32 app = APP;

	CHECK_OK(on_fast_path(&s));
	CHECK_OK(bpf_map_delete_elem(map_fd(FOS1_MAP_APP_POLICY), &app));
	CHECK_OK(policy_changed());
	return expect_revoked(&s);
}

static int never_offload_revokes_a_flow_already_on_the_fast_path(void)
{
	struct pkt_spec s = tcp6();

	CHECK_OK(on_fast_path(&s));
	CHECK_OK(app_policy_put(APP, 0, FOS1_APP_OFFLOAD_ALLOWED | FOS1_APP_NEVER_OFFLOAD));
	return expect_revoked(&s);
}

static int changed_app_id_reads_its_own_policy_without_a_bump(void)
{
	struct pkt_spec s = udp4();
	struct fos1_flow f;

	CHECK_OK(app_policy_put(OTHER_APP, 0, 0));
	CHECK_OK(on_fast_path(&s));
	/* The agent names another application, one without an opt-in: the copy is of the old one. */
	CHECK_OK(flow_get(&s, &f));
	f.app_id = OTHER_APP;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(expect_revoked(&s));
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.app_key, OTHER_APP);
	return 0;
}

static int flow_without_application_is_never_offloaded(void)
{
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct run r;

	/* Even a policy for app_id 0 (which the compiler never writes) does not offload an unnamed flow. */
	CHECK_OK(app_policy_put(0, 0, FOS1_APP_OFFLOAD_ALLOWED));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(flow_get(&s, &f));
	f.state = FOS1_FLOW_OFFLOADED;
	CHECK_OK(flow_put(&s, &f));
	return expect_revoked(&s);
}

static int class_mark_follows_a_changed_application_class(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_config c;
	struct fos1_flow f;
	struct run r;

	CHECK_OK(config_get(&c));
	c.class_mark_mask = 0xff0000;
	c.class_mark_shift = 16;
	CHECK_OK(config_put(&c));
	CHECK_OK(app_policy_put(9, 3, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(flow_get(&s, &f));
	f.app_id = 9;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 3 << 16);
	CHECK_OK(app_policy_put(9, 4, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 4 << 16);
	return 0;
}

/* A flow on the LAN side with class_id, then one packet through the classifier to fill its copy. */
static int classified(const struct pkt_spec *s, __u32 class_id, struct run *r)
{
	struct fos1_flow f;

	CHECK_OK(run_pkt(HOOK_LAN, s, r));
	CHECK_OK(flow_get(s, &f));
	f.class_id = class_id;
	CHECK_OK(flow_put(s, &f));
	return run_pkt(HOOK_CLASSIFY, s, r);
}

static int qos_copy_holds_until_generation_bump(void)
{
	struct fos1_qos_class af21 = { .skb_priority = 0x10012, .dscp = DSCP_AF21 };
	struct pkt_spec s = udp4();
	struct fos1_flow f;
	struct run r;
	__u32 class_id = 2;

	CHECK_OK(qos_class_put(2, 0x10011, DSCP_EF));
	CHECK_OK(classified(&s, 2, &r));
	CHECK_EQ(r.priority, 0x10011);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.qos_key, 2);
	CHECK_EQ(f.qos_found, 1);
	CHECK_EQ(f.qos_dscp, DSCP_EF);
	CHECK_OK(bpf_map_update_elem(map_fd(FOS1_MAP_QOS_CLASSES), &class_id, &af21, BPF_ANY));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, 0x10011);
	CHECK_EQ(r.out[15] >> 2, DSCP_EF);
	CHECK_OK(policy_changed());
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, 0x10012);
	CHECK_EQ(r.out[15] >> 2, DSCP_AF21);
	CHECK(ipv4_csum_ok(r.out), "IPv4 checksum invalid");
	return 0;
}

static int changed_flow_class_reads_its_qos_entry_without_a_bump(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(qos_class_put(2, 0x10011, DSCP_EF));
	CHECK_OK(qos_class_put(3, 0x10013, DSCP_AF21));
	CHECK_OK(classified(&s, 2, &r));
	CHECK_EQ(r.priority, 0x10011);
	CHECK_OK(flow_get(&s, &f));
	f.class_id = 3;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, 0x10013);
	CHECK_EQ(r.out[15] >> 2, DSCP_AF21);
	return 0;
}

static int removed_qos_class_leaves_packets_untouched(void)
{
	struct pkt_spec s = tcp4();
	struct run r;
	__u32 class_id = 2;

	s.tos = DSCP_AF21 << 2;
	CHECK_OK(qos_class_put(2, 0x10011, DSCP_EF));
	CHECK_OK(classified(&s, 2, &r));
	CHECK_EQ(r.priority, 0x10011);
	CHECK_OK(bpf_map_delete_elem(map_fd(FOS1_MAP_QOS_CLASSES), &class_id));
	CHECK_OK(policy_changed());
	CHECK_OK(run_pkt(HOOK_CLASSIFY, &s, &r));
	CHECK_EQ(r.priority, 0);
	CHECK(memcmp(r.out, r.in, r.in_len) == 0, "a packet of a class without an entry changed");
	CHECK_EQ(stat_get(FOS1_STAT_CLASSIFIED), 1);
	return 0;
}

/* first_seen_ns of a new flow from s, bracketed by the harness's coarse clock. */
static int first_seen(struct pkt_spec *s, __u64 *before, __u64 *seen, __u64 *after)
{
	struct fos1_flow f;
	struct run r;

	*before = now_ns();
	CHECK_OK(run_pkt(HOOK_LAN, s, &r));
	*after = now_ns();
	CHECK_OK(flow_get(s, &f));
	*seen = f.first_seen_ns;
	return 0;
}

static int program_clock_follows_the_coarse_clock(void)
{
	struct timespec pause = { .tv_nsec = 30000000 }; /* several ticks at any HZ */
	struct pkt_spec s = udp4();
	__u64 before, seen, after, first;
	int i;

	for (i = 0; i < 3; i++) {
		s.sport = (__u16)(41000 + i);
		CHECK_OK(first_seen(&s, &before, &seen, &after));
		CHECK(seen >= before && seen <= after, "round %d: first_seen %llu outside [%llu, %llu]", i,
		      (unsigned long long)seen, (unsigned long long)before, (unsigned long long)after);
		if (i == 0)
			first = seen;
		nanosleep(&pause, NULL);
	}
	CHECK(seen > first, "the clock did not move in 60 ms");
	return 0;
}

CASES(cases_cache) = {
	{ "app_policy_copy_holds_until_generation_bump", app_policy_copy_holds_until_generation_bump },
	{ "app_opt_out_revokes_a_flow_already_on_the_fast_path", app_opt_out_revokes_a_flow_already_on_the_fast_path },
	{ "never_offload_revokes_a_flow_already_on_the_fast_path",
	  never_offload_revokes_a_flow_already_on_the_fast_path },
	{ "changed_app_id_reads_its_own_policy_without_a_bump", changed_app_id_reads_its_own_policy_without_a_bump },
	{ "flow_without_application_is_never_offloaded", flow_without_application_is_never_offloaded },
	{ "class_mark_follows_a_changed_application_class", class_mark_follows_a_changed_application_class },
	{ "qos_copy_holds_until_generation_bump", qos_copy_holds_until_generation_bump },
	{ "changed_flow_class_reads_its_qos_entry_without_a_bump",
	  changed_flow_class_reads_its_qos_entry_without_a_bump },
	{ "removed_qos_class_leaves_packets_untouched", removed_qos_class_leaves_packets_untouched },
	{ "program_clock_follows_the_coarse_clock", program_clock_follows_the_coarse_clock },
};
CASES_COUNT(cases_cache);
