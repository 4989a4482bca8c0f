// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fos1-bench-prog BUILD_DIR [CASE]: per-packet cost of the programs through
 * BPF_PROG_TEST_RUN, in a private network namespace, next to the reference
 * program (parse + 5-tuple LRU lookup/insert + counter) measured the same way.
 * Prints one line per round: "<case> <ns per packet> <reference ns per packet>".
 *
 * A test run reuses one skb for all its repeats, so cases that change the
 * packet (TTL decrement, DSCP rewrite) or need a new flow each time use fresh
 * packets per call: the fast path with 200 repeats per call from TTL 255, the
 * new-flow and DSCP cases with one run per call. Each is compared with the
 * reference run in the same pattern. With CASE, only that case is timed
 * (for work on one path; the benchmark script times them all).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "fos1.h"
#include "netns.h"
#include "objects.h"
#include "packet.h"

#define CALLS_REPEATED 2000
#define REPEAT 200
#define CALLS_SINGLE 60000
#define ROUNDS 25

static const char *only_case;

struct bench {
	struct fb_netns ns;
	struct bpf_object *lan, *classify, *ref;
};

static int measure(int prog, int ifindex, const struct pkt_spec *base, int repeat, int calls, int new_flow_each,
		   double *ns_per_packet)
{
	struct __sk_buff ctx = { .ifindex = (__u32)ifindex };
	__u8 pkt[PKT_MAX];
	/* New-flow keys never repeat within a run, across rounds and programs alike. */
	static unsigned int next_flow;
	__u64 total = 0;
	int i;

	for (i = 0; i < calls; i++) {
		struct pkt_spec s = *base;
		char src[32];
		size_t len;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

		if (new_flow_each) {
			unsigned int n = next_flow++;

			snprintf(src, sizeof(src), "10.%u.%u.%u", 16 + ((n >> 24) & 0x3f), (n >> 16) & 0xff, (n >> 8) & 0xff);
			s.src = src;
			s.sport = (__u16)(1024 + (n & 0xff));
		}
		len = pkt_build(&s, pkt);
		opts.data_in = pkt;
		opts.data_size_in = (__u32)len;
		if (bpf_prog_test_run_opts(prog, &opts)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			return -1;
		}
		total += (__u64)opts.duration * (__u64)repeat;
	}
	*ns_per_packet = (double)total / ((double)calls * repeat);
	return 0;
}

static int config(struct bench *b, __u32 flags, __u32 mirror)
{
	struct fos1_config c = { .flags = flags, .mirror_ifindex = mirror, .nexthop_ttl_ns = 1000000000ull };
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_CONFIG), &zero, &c, BPF_ANY);
}

/* What the agent does after writing a block: bump the generation, so flows look at the block maps again. */
static int blocks_changed(struct bench *b)
{
	int fd = bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_CONFIG);
	struct fos1_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &c))
		return -1;
	c.block_generation++;
	return bpf_map_update_elem(fd, &zero, &c, BPF_ANY);
}

static int clear_flows(struct bench *b)
{
	int fd = bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_FLOWS);
	struct fos1_flow_key k;

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		if (bpf_map_delete_elem(fd, &k))
			return -1;
	return 0;
}

static int offload(struct bench *b, const struct pkt_spec *s)
{
	struct fos1_flow f = { .state = FOS1_FLOW_OFFLOADED, .app_id = 5, .flags = FOS1_FLOW_F_ORIG_A };
	struct fos1_app_policy ap = { .flags = FOS1_APP_OFFLOAD_ALLOWED };
	struct fos1_flow_key k;
	__u32 app = 5;

	flow_key_of(s, &k);
	if (bpf_map_update_elem(bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_APP_POLICY), &app, &ap, BPF_ANY))
		return -1;
	return bpf_map_update_elem(bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_FLOWS), &k, &f, BPF_ANY);
}

/*
 * Case and reference alternate in ROUNDS short rounds (which one goes first
 * alternates too), so each pair sees the same machine; the caller takes
 * medians and spreads.
 */
static int compare(const char *name, int prog, int ref, int ifindex, const struct pkt_spec *s, int repeat,
		   int calls, int new_flow_each)
{
	int i;

	if (only_case && strcmp(only_case, name))
		return 0;
	for (i = 0; i < ROUNDS; i++) {
		int first = i & 1 ? prog : ref, second = i & 1 ? ref : prog;
		double v, r, *a = i & 1 ? &v : &r, *b = i & 1 ? &r : &v;

		if (measure(first, ifindex, s, repeat, calls / ROUNDS, new_flow_each, a) ||
		    measure(second, ifindex, s, repeat, calls / ROUNDS, new_flow_each, b))
			return -1;
		printf("%s %.2f %.2f\n", name, v, r);
	}
	return 0;
}

static int run(struct bench *b)
{
	struct pkt_spec udp = { .src = "10.1.0.10", .dst = "198.51.100.10", .proto = IPPROTO_UDP,
				.sport = 40000, .dport = 443, .payload = 18, .ttl = 255 };
	struct pkt_spec tos = udp;
	int lan = fos1_object_prog_fd(b->lan), cls = fos1_object_prog_fd(b->classify), ref = fos1_object_prog_fd(b->ref);
	int ifl = b->ns.if_lan;
	double v;

	/* Warm caches and the JIT image before anything is timed. */
	if (measure(ref, ifl, &udp, REPEAT, 200, 0, &v) || measure(lan, ifl, &udp, REPEAT, 200, 0, &v))
		return -1;

	/* New flows of a workload that is not selected: the flow-table insert alone. */
	if (config(b, FOS1_CFG_OFFLOAD_ENABLED, 0) || clear_flows(b) ||
	    compare("new_flow", lan, ref, ifl, &udp, 1, CALLS_SINGLE, 1))
		return -1;
	/* New flows of a selected workload: insert plus the clone to the mirror interface. */
	if (config(b, FOS1_CFG_OFFLOAD_ENABLED | FOS1_CFG_INSPECT_ALL, (__u32)b->ns.if_mirror) || clear_flows(b) ||
	    compare("new_flow_mirrored", lan, ref, ifl, &udp, 1, CALLS_SINGLE, 1))
		return -1;

	if (clear_flows(b) || offload(b, &udp) ||
	    compare("fastpath_hit", lan, ref, ifl, &udp, REPEAT, CALLS_REPEATED, 0))
		return -1;

	{
		struct fos1_block blk = { .reason = 1 };
		struct fos1_addr a;
		int fd = bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_BLOCK_SRC);

		/* A blocked flow: its first packet finds the block, the others the flow's BLOCKED state. */
		addr_parse(udp.src, &a);
		if (bpf_map_update_elem(fd, &a, &blk, BPF_ANY) || blocks_changed(b) ||
		    compare("blocked", lan, ref, ifl, &udp, REPEAT, CALLS_REPEATED, 0))
			return -1;
		bpf_map_delete_elem(fd, &a);
	}

	{
		struct fos1_qos_class qc = { .skb_priority = 0x10011, .dscp = 46 };
		struct fos1_flow f = { .class_id = 2 };
		struct fos1_flow_key k;
		__u32 class_id = 2;

		tos.tos = (18 << 2) | 1;
		flow_key_of(&tos, &k);
		if (bpf_map_update_elem(bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_QOS_CLASSES), &class_id, &qc,
					BPF_ANY) ||
		    bpf_map_update_elem(bpf_object__find_map_fd_by_name(b->lan, FOS1_MAP_FLOWS), &k, &f, BPF_ANY) ||
		    compare("classify_dscp", cls, ref, ifl, &tos, 1, CALLS_SINGLE, 0))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {};
	int ret = 1;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s BUILD_DIR [CASE]\n", argv[0]);
		return 2;
	}
	only_case = argv[2];
	if (fb_netns_enter(&b.ns))
		goto out;
	b.lan = fos1_object_load(argv[1], FOS1_OBJ_INGRESS_LAN, b.ns.bpffs, 0);
	b.classify = b.lan ? fos1_object_load(argv[1], FOS1_OBJ_EGRESS_CLASSIFY, b.ns.bpffs, 0) : NULL;
	b.ref = b.classify ? fos1_object_load(argv[1], FOS1_OBJ_BENCH_REFERENCE, b.ns.bpffs, 0) : NULL;
	if (!b.ref) {
		fprintf(stderr, "loading objects: %s\n", strerror(errno));
		goto out;
	}
	ret = run(&b) ? 1 : 0;
out:
	bpf_object__close(b.ref);
	bpf_object__close(b.classify);
	bpf_object__close(b.lan);
	fb_netns_leave(&b.ns);
	return ret;
}
