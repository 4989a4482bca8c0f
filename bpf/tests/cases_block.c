// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Blocks by source, destination and flow; they win over every flow state. */
#include <linux/pkt_cls.h>
#include "harness.h"
#include "specs.h"

static int blocked_source_is_dropped(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_SRC, CLIENT4, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_EQ(r.mirrored, 0);
	CHECK_EQ(stat_get(FOS1_STAT_BLOCKED), 1);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_BLOCKED);
	return 0;
}

static int blocked_destination_is_dropped(void)
{
	struct pkt_spec s = tcp6();
	struct run r;

	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_DST, SERVER6, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_EQ(stat_get(FOS1_STAT_NEW_FLOWS), 0);
	s.dst = "2001:db8::11";
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	return 0;
}

static int blocked_flow_is_dropped_in_both_directions(void)
{
	struct pkt_spec s = udp4(), back = reversed(udp4()), other = udp4();
	struct fos1_block b = { .reason = 3 };
	struct fos1_flow_key k;
	struct run r;

	flow_key_of(&s, &k);
	CHECK_OK(bpf_map_update_elem(map_fd(FOS1_MAP_BLOCK_FLOW), &k, &b, BPF_ANY));
	CHECK_OK(blocks_changed());
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_OK(run_pkt(HOOK_UPLINK, &back, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	other.sport = 40100;
	CHECK_OK(run_pkt(HOOK_LAN, &other, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(stat_get(FOS1_STAT_BLOCKED), 2);
	return 0;
}

static int expired_block_is_ignored(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_SRC, CLIENT4, now_ns() - 1));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_SRC, CLIENT4, now_ns() + 60000000000ull));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	return 0;
}

static int block_applies_to_offloaded_flow(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, 5));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_DST, SERVER4, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	return 0;
}

static int block_applies_to_fragments_and_malformed(void)
{
	struct pkt_spec s = udp4();
	struct run r;

	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_SRC, CLIENT4, 0));
	s.frag_off = 100;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	s = tcp4();
	r.in_len = (__u32)pkt_build(&s, r.in);
	CHECK_OK(run_frame(HOOK_LAN, r.in, 14 + 20 + 8, 0, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	return 0;
}

static int agent_blocked_flow_state_drops(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(flow_get(&s, &f));
	f.state = FOS1_FLOW_BLOCKED;
	CHECK_OK(flow_put(&s, &f));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	return 0;
}

static int existing_flow_rechecks_blocks_when_generation_changes(void)
{
	struct pkt_spec s = udp4();
	struct fos1_block b = { .reason = 2 };
	struct fos1_addr a;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	addr_parse(SERVER4, &a);
	CHECK_OK(bpf_map_update_elem(map_fd(FOS1_MAP_BLOCK_DST), &a, &b, BPF_ANY));
	/* Without a generation bump the flow's earlier pass stands: the agent's contract is to bump. */
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_OK(blocks_changed());
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	/* A new flow is always checked against the maps. */
	s.sport = 40999;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	return 0;
}

static int blocked_flow_stays_blocked_after_its_block_is_removed(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_addr a;
	struct run r;

	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(block_addr_put(FOS1_MAP_BLOCK_SRC, CLIENT4, 0));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	addr_parse(CLIENT4, &a);
	CHECK_OK(bpf_map_delete_elem(map_fd(FOS1_MAP_BLOCK_SRC), &a));
	CHECK_OK(blocks_changed());
	/* The flow's BLOCKED state is the verdict now; only the agent lifts it (or eviction). */
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_EQ(r.mirrored, 0);
	CHECK_EQ(stat_get(FOS1_STAT_BLOCKED), 2);
	/* A new flow from the same source passes. */
	s.sport = 40777;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	return 0;
}

CASES(cases_block) = {
	{ "blocked_flow_stays_blocked_after_its_block_is_removed", blocked_flow_stays_blocked_after_its_block_is_removed },
	{ "existing_flow_rechecks_blocks_when_generation_changes", existing_flow_rechecks_blocks_when_generation_changes },
	{ "blocked_source_is_dropped", blocked_source_is_dropped },
	{ "blocked_destination_is_dropped", blocked_destination_is_dropped },
	{ "blocked_flow_is_dropped_in_both_directions", blocked_flow_is_dropped_in_both_directions },
	{ "expired_block_is_ignored", expired_block_is_ignored },
	{ "block_applies_to_offloaded_flow", block_applies_to_offloaded_flow },
	{ "block_applies_to_fragments_and_malformed", block_applies_to_fragments_and_malformed },
	{ "agent_blocked_flow_state_drops", agent_blocked_flow_state_drops },
};
CASES_COUNT(cases_block);
