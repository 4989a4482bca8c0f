// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Route marks: decided at a flow's first packet from the app -> destination cache, never changed. */
#include <linux/pkt_cls.h>
#include <string.h>
#include "harness.h"
#include "specs.h"

#define APP_STREAMING 7
#define SEG_GUEST 3

static int app_dest_put(const char *addr, __u32 app_id, __u64 expires_ns)
{
	struct fos1_app_dest d = { .app_id = app_id, .expires_ns = expires_ns };
	struct fos1_addr a;

	addr_parse(addr, &a);
	return bpf_map_update_elem(map_fd(FOS1_MAP_APP_DEST), &a, &d, BPF_ANY);
}

static int route_put(__u32 segment_id, __u32 app_id, __u32 mark)
{
	struct fos1_route_key k = { .segment_id = segment_id, .app_id = app_id };
	struct fos1_route_target t = { .mark = mark };

	return bpf_map_update_elem(map_fd(FOS1_MAP_ROUTE_POLICY), &k, &t, BPF_ANY);
}

static int app_deny_put(__u32 segment_id, __u32 app_id)
{
	struct fos1_route_key k = { .segment_id = segment_id, .app_id = app_id };
	__u32 rule = 1;

	return bpf_map_update_elem(map_fd(FOS1_MAP_APP_DENY), &k, &rule, BPF_ANY);
}

/* A guest flow whose destination the cache names as a denied application is dropped from its first packet. */
static int denied_application_is_blocked_at_first_packet(void)
{
	struct pkt_spec s = tcp4(), reply = reversed(tcp4());
	struct fos1_flow f;
	struct run r;

	CHECK_OK(lpm_put(FOS1_MAP_SEGMENTS, "10.1.0.0", 28, SEG_GUEST));
	CHECK_OK(app_dest_put(SERVER4, APP_STREAMING, 0));
	CHECK_OK(app_deny_put(SEG_GUEST, APP_STREAMING));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_EQ(r.mirrored, 0);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.state, FOS1_FLOW_BLOCKED);
	CHECK_EQ(f.flags & FOS1_FLOW_F_APP_DENIED, FOS1_FLOW_F_APP_DENIED);
	CHECK_EQ(f.app_id, APP_STREAMING);
	CHECK_EQ(stat_get(FOS1_STAT_BLOCKED), 1);
	CHECK_OK(run_pkt(HOOK_UPLINK, &reply, &r));
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	return 0;
}

/* The deny is per segment and per application: other segments, other applications and unnamed flows pass. */
static int app_deny_is_exact_to_segment_and_application(void)
{
	struct pkt_spec other_seg = udp4(), other_app = udp4(), unnamed = udp4();
	struct run r;

	CHECK_OK(lpm_put(FOS1_MAP_SEGMENTS, "10.1.0.0", 28, SEG_GUEST));
	CHECK_OK(app_dest_put(SERVER4, APP_STREAMING, 0));
	CHECK_OK(app_dest_put("203.0.113.9", 8, 0));
	CHECK_OK(app_deny_put(SEG_GUEST, APP_STREAMING));
	other_seg.src = "10.1.0.100";
	CHECK_OK(run_pkt(HOOK_LAN, &other_seg, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	other_app.dst = "203.0.113.9";
	CHECK_OK(run_pkt(HOOK_LAN, &other_app, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	unnamed.dst = "203.0.113.10";
	CHECK_OK(run_pkt(HOOK_LAN, &unnamed, &r));
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK_EQ(stat_get(FOS1_STAT_BLOCKED), 0);
	return 0;
}

static int fwmark_is_chosen_at_first_packet(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(app_dest_put(SERVER4, APP_STREAMING, 0));
	CHECK_OK(route_put(0, APP_STREAMING, 0x200));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 0x200);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.mark, 0x200);
	CHECK_EQ(f.app_id, APP_STREAMING);
	return 0;
}

static int fwmark_unchanged_after_app_map_changes(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	CHECK_OK(app_dest_put(SERVER4, APP_STREAMING, 0));
	CHECK_OK(route_put(0, APP_STREAMING, 0x200));
	CHECK_OK(route_put(0, 8, 0x300));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 0x200);
	CHECK_OK(app_dest_put(SERVER4, 8, 0));
	CHECK_OK(route_put(0, APP_STREAMING, 0x400));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 0x200);
	/* A new flow to the same server takes the new decision. */
	s.sport = 40500;
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 0x300);
	return 0;
}

static int segment_specific_route_wins(void)
{
	struct pkt_spec s = udp4(), other = udp4();
	struct run r;

	CHECK_OK(lpm_put(FOS1_MAP_SEGMENTS, "10.1.0.0", 28, SEG_GUEST));
	CHECK_OK(app_dest_put(SERVER4, APP_STREAMING, 0));
	CHECK_OK(route_put(SEG_GUEST, APP_STREAMING, 0x500));
	CHECK_OK(route_put(SEG_GUEST, 0, 0x600));
	CHECK_OK(route_put(0, APP_STREAMING, 0x200));
	CHECK_OK(route_put(0, 0, 0x700));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 0x500);
	/* Outside the segment and to an unknown destination: the catch-all. */
	other.src = "10.1.0.100";
	other.dst = "203.0.113.1";
	CHECK_OK(run_pkt(HOOK_LAN, &other, &r));
	CHECK_EQ(r.mark, 0x700);
	/* In the segment, unknown destination: (seg, 0). */
	other.src = CLIENT4;
	CHECK_OK(run_pkt(HOOK_LAN, &other, &r));
	CHECK_EQ(r.mark, 0x600);
	return 0;
}

static int expired_app_destination_is_ignored(void)
{
	struct pkt_spec s = tcp4();
	struct fos1_flow f;
	struct run r;

	CHECK_OK(app_dest_put(SERVER4, APP_STREAMING, now_ns() - 1));
	CHECK_OK(route_put(0, APP_STREAMING, 0x200));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.mark, 0);
	CHECK_OK(flow_get(&s, &f));
	CHECK_EQ(f.app_id, 0);
	return 0;
}

static int fwmark_keeps_bits_outside_its_mask(void)
{
	struct pkt_spec s = tcp4();
	struct run r;

	CHECK_OK(route_put(0, 0, 0x12345));
	r.in_len = (__u32)pkt_build(&s, r.in);
	CHECK_OK(run_frame(HOOK_LAN, r.in, r.in_len, 0xf000000f, &r));
	CHECK_EQ(r.mark, 0xf000230f);
	return 0;
}

static int uplink_side_sets_no_mark(void)
{
	struct pkt_spec back = reversed(tcp4());
	struct run r;

	CHECK_OK(route_put(0, 0, 0x200));
	CHECK_OK(run_pkt(HOOK_UPLINK, &back, &r));
	CHECK_EQ(r.mark, 0);
	return 0;
}

static int offloaded_marked_flow_uses_the_policy_table(void)
{
	static const __u8 mac_wan2_gw[6] = { 0x02, 0xfb, 0, 0, 0x03, 0x02 };
	static const __u8 mac_wan2[6] = { 0x02, 0xfb, 0, 0, 0x03, 0x01 };
	struct pkt_spec s = udp4();
	struct run r;

	CHECK_OK(app_dest_put(SERVER4, APP_STREAMING, 0));
	CHECK_OK(route_put(0, APP_STREAMING, FB_POLICY_MARK));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_OK(offload_flow(&s, APP_STREAMING));
	CHECK_OK(run_pkt(HOOK_LAN, &s, &r));
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK(memcmp(r.out, mac_wan2_gw, 6) == 0, "not sent to uplink 2's gateway");
	CHECK(memcmp(r.out + 6, mac_wan2, 6) == 0, "source MAC not uplink 2's");
	return 0;
}

CASES(cases_route) = {
	{ "fwmark_is_chosen_at_first_packet", fwmark_is_chosen_at_first_packet },
	{ "denied_application_is_blocked_at_first_packet", denied_application_is_blocked_at_first_packet },
	{ "app_deny_is_exact_to_segment_and_application", app_deny_is_exact_to_segment_and_application },
	{ "fwmark_unchanged_after_app_map_changes", fwmark_unchanged_after_app_map_changes },
	{ "segment_specific_route_wins", segment_specific_route_wins },
	{ "expired_app_destination_is_ignored", expired_app_destination_is_ignored },
	{ "fwmark_keeps_bits_outside_its_mask", fwmark_keeps_bits_outside_its_mask },
	{ "uplink_side_sets_no_mark", uplink_side_sets_no_mark },
	{ "offloaded_marked_flow_uses_the_policy_table", offloaded_marked_flow_uses_the_policy_table },
};
CASES_COUNT(cases_route);
