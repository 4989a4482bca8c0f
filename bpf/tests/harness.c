// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "objects.h"

struct harness H;

static const char *const all_maps[] = {
	FOS1_MAP_QOS_CLASSES, FOS1_MAP_APP_POLICY, FOS1_MAP_ROUTE_POLICY, FOS1_MAP_APP_DENY, FOS1_MAP_SEGMENTS,
	FOS1_MAP_INSPECT_SELECT, FOS1_MAP_CRITICAL, FOS1_MAP_WATCH, FOS1_MAP_FLOWS,
	FOS1_MAP_BLOCK_SRC, FOS1_MAP_BLOCK_DST, FOS1_MAP_BLOCK_FLOW, FOS1_MAP_APP_DEST,
};

int map_fd(const char *name)
{
	return bpf_object__find_map_fd_by_name(H.lan, name);
}

static int prog_fd(enum hook hook)
{
	switch (hook) {
	case HOOK_LAN:
		return fos1_object_prog_fd(H.lan);
	case HOOK_UPLINK:
		return fos1_object_prog_fd(H.uplink);
	default:
		return fos1_object_prog_fd(H.classify);
	}
}

static void mirror_drain(struct run *r, int wait_ms)
{
	struct pollfd pfd = { .fd = H.mirror_sock, .events = POLLIN };
	__u8 buf[PKT_MAX];
	ssize_t n;

	while (poll(&pfd, 1, wait_ms) > 0) {
		n = recv(H.mirror_sock, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		if (r) {
			if (!r->mirrored) {
				memcpy(r->mirror, buf, (size_t)n);
				r->mirror_len = (__u32)n;
			}
			r->mirrored++;
		}
		/* After the first copy, only collect what is already queued. */
		wait_ms = 5;
	}
}

int run_frame_prog(int prog_fd, int ifindex, const __u8 *frame, size_t len, __u32 mark_in, struct run *r)
{
	struct __sk_buff ctx = { .mark = mark_in, .ifindex = (__u32)ifindex };
	struct __sk_buff ctx_out = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);
	int err;

	if (frame != r->in) {
		memcpy(r->in, frame, len);
		r->in_len = (__u32)len;
	}
	r->mirrored = 0;
	mirror_drain(NULL, 0);
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		snprintf(H.fail, sizeof(H.fail), "bpf_prog_test_run_opts: %s", strerror(errno));
		return -1;
	}
	r->ret = (int)opts.retval;
	r->out_len = opts.data_size_out;
	r->mark = ctx_out.mark;
	r->priority = ctx_out.priority;
	mirror_drain(r, 30);
	return 0;
}

int run_frame(enum hook hook, const __u8 *frame, size_t len, __u32 mark_in, struct run *r)
{
	return run_frame_prog(prog_fd(hook), hook == HOOK_UPLINK ? H.ns.if_wan : H.ns.if_lan, frame, len, mark_in, r);
}

int run_pkt(enum hook hook, const struct pkt_spec *s, struct run *r)
{
	r->in_len = (__u32)pkt_build(s, r->in);
	return run_frame(hook, r->in, r->in_len, 0, r);
}

static int map_clear(int fd)
{
	__u8 key[64], next[64];

	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, sizeof(key));
		if (bpf_map_delete_elem(fd, key))
			return -1;
	}
	return 0;
}

int config_put(const struct fos1_config *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(map_fd(FOS1_MAP_CONFIG), &zero, c, BPF_ANY);
}

int config_get(struct fos1_config *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(map_fd(FOS1_MAP_CONFIG), &zero, c);
}

/*
 * Default: agent alive, every flow mirrored, offloaded flows not sampled, route
 * marks in FB_POLICY_MARK_MASK, next hops cached for a minute.
 */
int reset_maps(void)
{
	struct fos1_config c = {
		.flags = FOS1_CFG_OFFLOAD_ENABLED | FOS1_CFG_INSPECT_ALL,
		.mirror_ifindex = (__u32)H.ns.if_mirror,
		.fwmark_mask = FB_POLICY_MARK_MASK,
		.nexthop_ttl_ns = 60000000000ull,
	};
	size_t i;
	int ncpu = libbpf_num_possible_cpus();
	__u64 *zeros = calloc((size_t)ncpu, sizeof(__u64));
	__u32 k;

	for (i = 0; i < sizeof(all_maps) / sizeof(all_maps[0]); i++)
		if (map_clear(map_fd(all_maps[i])))
			return -1;
	for (k = 0; k < FOS1_STAT__MAX; k++)
		bpf_map_update_elem(map_fd(FOS1_MAP_STATS), &k, zeros, BPF_ANY);
	free(zeros);
	return config_put(&c);
}

int flow_get(const struct pkt_spec *s, struct fos1_flow *f)
{
	struct fos1_flow_key k;

	flow_key_of(s, &k);
	return bpf_map_lookup_elem(map_fd(FOS1_MAP_FLOWS), &k, f);
}

int flow_put(const struct pkt_spec *s, const struct fos1_flow *f)
{
	struct fos1_flow_key k;

	flow_key_of(s, &k);
	return bpf_map_update_elem(map_fd(FOS1_MAP_FLOWS), &k, f, BPF_ANY);
}

int policy_changed(void)
{
	struct fos1_config c;

	if (config_get(&c))
		return -1;
	c.policy_generation++;
	return config_put(&c);
}

int app_policy_put(__u32 app_id, __u32 class_id, __u32 flags)
{
	struct fos1_app_policy p = { .class_id = class_id, .flags = flags };

	if (bpf_map_update_elem(map_fd(FOS1_MAP_APP_POLICY), &app_id, &p, BPF_ANY))
		return -1;
	return policy_changed();
}

int qos_class_put(__u32 class_id, __u32 skb_priority, __u8 dscp)
{
	struct fos1_qos_class c = { .skb_priority = skb_priority, .dscp = dscp };

	if (bpf_map_update_elem(map_fd(FOS1_MAP_QOS_CLASSES), &class_id, &c, BPF_ANY))
		return -1;
	return policy_changed();
}

int offload_flow(const struct pkt_spec *s, __u32 app_id)
{
	struct fos1_flow f;

	if (flow_get(s, &f))
		return -1;
	f.state = FOS1_FLOW_OFFLOADED;
	f.app_id = app_id;
	if (app_policy_put(app_id, 0, FOS1_APP_OFFLOAD_ALLOWED))
		return -1;
	return flow_put(s, &f);
}

int lpm_put(const char *map, const char *addr, __u32 prefixlen, __u32 value)
{
	struct fos1_lpm_key k = {};
	struct fos1_addr a;

	addr_parse(addr, &a);
	memcpy(k.addr, a.addr, FOS1_ADDR_LEN);
	/* IPv4 prefixes are given as /n of the mapped address: /(96 + n). */
	k.prefixlen = strchr(addr, ':') ? prefixlen : 96 + prefixlen;
	return bpf_map_update_elem(map_fd(map), &k, &value, BPF_ANY);
}

int blocks_changed(void)
{
	struct fos1_config c;

	if (config_get(&c))
		return -1;
	c.block_generation++;
	return config_put(&c);
}

int block_addr_put(const char *map, const char *addr, __u64 expires_ns)
{
	struct fos1_block b = { .expires_ns = expires_ns, .reason = 7 };
	struct fos1_addr a;

	addr_parse(addr, &a);
	if (bpf_map_update_elem(map_fd(map), &a, &b, BPF_ANY))
		return -1;
	return blocks_changed();
}

__u64 stat_get(enum fos1_stat s)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 vals[256] = {}, sum = 0;
	__u32 k = s;

	if (ncpu > 256 || bpf_map_lookup_elem(map_fd(FOS1_MAP_STATS), &k, vals))
		return (__u64)-1;
	for (i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

__u64 now_ns(void)
{
	struct timespec ts;

	/* The programs read the coarse clock; the same clock here keeps "now - 1" in the past for them. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}
