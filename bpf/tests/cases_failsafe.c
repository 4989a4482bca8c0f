// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Fail-safe behaviour: nothing is fast-pathed unless everything allows it; eviction loses no block. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/pkt_cls.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"
#include "objects.h"
#include "specs.h"

/* Offloads the flow, changes one thing, and expects the next packet on the slow path, mirrored. */
static int expect_offload_refused(struct pkt_spec s, int (*change)(const struct pkt_spec *))
{
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(change(&s));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	CHECK_EQ(stat_get(FOS1_STAT_FASTPATH), 0);
	CHECK_EQ(stat_get(FOS1_STAT_OFFLOAD_REVOKED), 1);
	return 0;
}

static int switch_off(const struct pkt_spec *s)
{
	struct fos1_config c;

	(void)s;
	if (config_get(&c))
		return -1;
	c.flags &= ~FOS1_CFG_OFFLOAD_ENABLED;
	return config_put(&c);
}

static int lease_over(const struct pkt_spec *s)
{
	struct fos1_config c;

	(void)s;
	if (config_get(&c))
		return -1;
	c.offload_lease_until_ns = now_ns() - 1;
	return config_put(&c);
}

static int app_not_opted_in(const struct pkt_spec *s)
{
	__u32 app = 5;

	(void)s;
	if (bpf_map_delete_elem(map_fd(FOS1_MAP_APP_POLICY), &app))
		return -1;
	return policy_changed();
}

static int app_never_offload(const struct pkt_spec *s)
{
	(void)s;
	return app_policy_put(5, 0, FOS1_APP_OFFLOAD_ALLOWED | FOS1_APP_NEVER_OFFLOAD);
}

static int nothing(const struct pkt_spec *s)
{
	(void)s;
	return 0;
}

static int offload_switch_off_returns_flow_to_inspect(void)
{
	return expect_offload_refused(udp4(), switch_off);
}

static int offload_lease_expired_fails_safe(void)
{
	return expect_offload_refused(udp4(), lease_over);
}

static int offload_without_app_opt_in_is_refused(void)
{
	return expect_offload_refused(tcp4(), app_not_opted_in);
}

static int never_offload_application_stays_on_slow_path(void)
{
	return expect_offload_refused(tcp6(), app_never_offload);
}

static int critical_zone_is_never_offloaded(void)
{
	struct pkt_spec s = tcp4();

	CHECK_OK(lpm_put(FOS1_MAP_CRITICAL, "198.51.100.0", 24, 1));
	return expect_offload_refused(s, nothing);
}

static int watch_listed_address_is_never_offloaded(void)
{
	struct pkt_spec s = tcp6();

	CHECK_OK(lpm_put(FOS1_MAP_WATCH, CLIENT6, 128, 1));
	return expect_offload_refused(s, nothing);
}

static int unknown_protocol_is_never_offloaded(void)
{
	struct pkt_spec s = { .src = CLIENT4, .dst = SERVER4, .proto = 132 /* SCTP */, .payload = 24 };

	return expect_offload_refused(s, nothing);
}

static int valid_lease_allows_the_fast_path(void)
{
	struct pkt_spec s = udp4();
	struct fos1_config c;
	struct run r;

	CHECK_OK(config_get(&c));
	c.offload_lease_until_ns = now_ns() + 60000000000ull;
	CHECK_OK(config_put(&c));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	return 0;
}

/*
 * A small flow table in its own pin root, so eviction happens after a few hundred flows.
 * The test runs on one CPU: the kernel's LRU keeps a node in the pending list of the CPU that
 * allocated it until that CPU allocates again, so a flow written from one CPU outlives any churn
 * that another CPU makes (a real router's traffic reaches every CPU; one thread's does not).
 */
static int full_flow_table(int (*check)(struct bpf_object *obj, int prog))
{
	char root[PATH_MAX];
	struct bpf_object *obj;
	cpu_set_t was, one;
	struct fos1_config c = { .flags = FOS1_CFG_OFFLOAD_ENABLED | FOS1_CFG_INSPECT_ALL,
				 .mirror_ifindex = (__u32)H.ns.if_mirror };
	__u32 zero = 0;
	int ret;

	snprintf(root, sizeof(root), "%s/small", H.ns.bpffs);
	mkdir(root, 0700);
	obj = fos1_object_load(H.build, FOS1_OBJ_INGRESS_LAN, root, 64);
	CHECK(obj, "loading with a 64-entry flow table: %s", strerror(errno));
	CHECK_OK(sched_getaffinity(0, sizeof(was), &was));
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	CHECK_OK(sched_setaffinity(0, sizeof(one), &one));
	ret = bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, FOS1_MAP_CONFIG), &zero, &c, BPF_ANY);
	if (ret == 0)
		ret = check(obj, fos1_object_prog_fd(obj));
	else
		snprintf(H.fail, sizeof(H.fail), "writing the small table's config failed");
	sched_setaffinity(0, sizeof(was), &was);
	bpf_object__close(obj);
	return ret;
}

static int churn(int prog, int n)
{
	struct pkt_spec s = udp4();
	struct run r;
	int i;

	s.src = "10.1.0.99";
	for (i = 0; i < n; i++) {
		s.sport = (__u16)(10000 + i);
		r.in_len = (__u32)pkt_build(&s, r.in);
		CHECK_OK(run_frame_prog(prog, H.ns.if_lan, r.in, r.in_len, 0, &r));
	}
	return 0;
}

static int evicted_offloaded_flow_returns_as_inspect(struct bpf_object *obj, int prog)
{
	int flows = bpf_object__find_map_fd_by_name(obj, FOS1_MAP_FLOWS);
	struct fos1_app_policy ap = { .flags = FOS1_APP_OFFLOAD_ALLOWED };
	struct pkt_spec s = udp4();
	struct fos1_flow_key k;
	struct fos1_flow f;
	struct run r;
	__u32 app = 5;

	CHECK_OK(bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, FOS1_MAP_APP_POLICY), &app, &ap, BPF_ANY));
	r.in_len = (__u32)pkt_build(&s, r.in);
	CHECK_OK(run_frame_prog(prog, H.ns.if_lan, r.in, r.in_len, 0, &r));
	flow_key_of(&s, &k);
	CHECK_OK(bpf_map_lookup_elem(flows, &k, &f));
	f.state = FOS1_FLOW_OFFLOADED;
	f.app_id = app;
	CHECK_OK(bpf_map_update_elem(flows, &k, &f, BPF_ANY));
	CHECK_OK(run_frame_prog(prog, H.ns.if_lan, r.in, r.in_len, 0, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_OK(churn(prog, 400));
	CHECK(bpf_map_lookup_elem(flows, &k, &f) != 0, "the offloaded flow survived 400 new flows in 64 entries");
	CHECK_OK(run_frame_prog(prog, H.ns.if_lan, r.in, r.in_len, 0, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(r.mirrored, 1);
	CHECK_OK(bpf_map_lookup_elem(flows, &k, &f));
	CHECK_EQ(f.state, FOS1_FLOW_INSPECT);
	return 0;
}

static int blocks_survive_flow_table_churn_check(struct bpf_object *obj, int prog)
{
	int block_src = bpf_object__find_map_fd_by_name(obj, FOS1_MAP_BLOCK_SRC);
	struct fos1_block b = { .reason = 1 };
	struct pkt_spec s = tcp4();
	struct fos1_addr a;
	struct run r;

	addr_parse("10.1.0.99", &a);
	CHECK_OK(bpf_map_update_elem(block_src, &a, &b, BPF_ANY));
	CHECK_OK(churn(prog, 400));
	s.src = "10.1.0.99";
	r.in_len = (__u32)pkt_build(&s, r.in);
	CHECK_OK(run_frame_prog(prog, H.ns.if_lan, r.in, r.in_len, 0, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_OK(bpf_map_lookup_elem(block_src, &a, &b));
	return 0;
}

static int full_flow_table_evicts_offloaded_flow_back_to_inspect(void)
{
	return full_flow_table(evicted_offloaded_flow_returns_as_inspect);
}

static int blocks_survive_flow_table_churn(void)
{
	return full_flow_table(blocks_survive_flow_table_churn_check);
}

static int maps_are_pinned_by_name(void)
{
	static const char *const names[] = {
		FOS1_MAP_CONFIG,	 FOS1_MAP_QOS_CLASSES, FOS1_MAP_APP_POLICY, FOS1_MAP_ROUTE_POLICY,
		FOS1_MAP_SEGMENTS,	 FOS1_MAP_INSPECT_SELECT, FOS1_MAP_CRITICAL, FOS1_MAP_WATCH,
		FOS1_MAP_FLOWS,		 FOS1_MAP_BLOCK_SRC,   FOS1_MAP_BLOCK_DST,  FOS1_MAP_BLOCK_FLOW,
		FOS1_MAP_APP_DEST,	 FOS1_MAP_STATS,
	};
	char path[PATH_MAX];
	struct bpf_map_info a = {}, b = {};
	__u32 la = sizeof(a), lb = sizeof(b);
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", H.ns.bpffs, names[i]);
		CHECK(stat(path, &st) == 0, "%s is not pinned under the pin root", names[i]);
	}
	/* The classifier object reuses the LAN object's flow table instead of making its own. */
	CHECK_OK(bpf_obj_get_info_by_fd(map_fd(FOS1_MAP_FLOWS), &a, &la));
	CHECK_OK(bpf_obj_get_info_by_fd(bpf_object__find_map_fd_by_name(H.classify, FOS1_MAP_FLOWS), &b, &lb));
	CHECK_EQ(a.id, b.id);
	return 0;
}

CASES(cases_failsafe) = {
	{ "offload_switch_off_returns_flow_to_inspect", offload_switch_off_returns_flow_to_inspect },
	{ "offload_lease_expired_fails_safe", offload_lease_expired_fails_safe },
	{ "offload_without_app_opt_in_is_refused", offload_without_app_opt_in_is_refused },
	{ "never_offload_application_stays_on_slow_path", never_offload_application_stays_on_slow_path },
	{ "critical_zone_is_never_offloaded", critical_zone_is_never_offloaded },
	{ "watch_listed_address_is_never_offloaded", watch_listed_address_is_never_offloaded },
	{ "unknown_protocol_is_never_offloaded", unknown_protocol_is_never_offloaded },
	{ "valid_lease_allows_the_fast_path", valid_lease_allows_the_fast_path },
	{ "full_flow_table_evicts_offloaded_flow_back_to_inspect", full_flow_table_evicts_offloaded_flow_back_to_inspect },
	{ "blocks_survive_flow_table_churn", blocks_survive_flow_table_churn },
	{ "maps_are_pinned_by_name", maps_are_pinned_by_name },
};
CASES_COUNT(cases_failsafe);
