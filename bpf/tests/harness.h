/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet-test harness: runs a program on a packet through
 * BPF_PROG_TEST_RUN, captures what it mirrored, and reads/writes the maps the
 * agent and the policy compiler own.
 */
#ifndef FOS1_TEST_HARNESS_H
#define FOS1_TEST_HARNESS_H

#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fos1.h"
#include "netns.h"
#include "packet.h"

struct harness {
	struct fb_netns ns;
	const char *build;
	struct bpf_object *lan, *uplink, *classify;
	int mirror_sock;
	char fail[512];
};

extern struct harness H;

struct run {
	int ret; /* the program's verdict */
	__u8 in[PKT_MAX];
	__u32 in_len;
	__u8 out[PKT_MAX];
	__u32 out_len;
	__u32 mark;     /* skb->mark after the program */
	__u32 priority; /* skb->priority after the program */
	int mirrored;   /* copies that reached the mirror interface's peer */
	__u8 mirror[PKT_MAX];
	__u32 mirror_len;
};

enum hook { HOOK_LAN, HOOK_UPLINK, HOOK_CLASSIFY };

/* Runs the raw frame through prog_fd as if it arrived on ifindex. */
int run_frame_prog(int prog_fd, int ifindex, const __u8 *frame, size_t len, __u32 mark_in, struct run *r);
/* Runs the raw frame through the hook's program, arriving on the LAN (or uplink) interface. */
int run_frame(enum hook hook, const __u8 *frame, size_t len, __u32 mark_in, struct run *r);
/* Builds the packet and runs it. */
int run_pkt(enum hook hook, const struct pkt_spec *s, struct run *r);

int map_fd(const char *name);
/* Empties every map and writes the default config (see harness.c). */
int reset_maps(void);
int config_get(struct fos1_config *c);
int config_put(const struct fos1_config *c);
int flow_get(const struct pkt_spec *s, struct fos1_flow *f);
int flow_put(const struct pkt_spec *s, const struct fos1_flow *f);
/* Marks the packet's flow OFFLOADED and allows its application to be offloaded. */
int offload_flow(const struct pkt_spec *s, __u32 app_id);
/* Writes an application policy and bumps fos1_config.policy_generation, as the agent must. */
int app_policy_put(__u32 app_id, __u32 class_id, __u32 flags);
/* Writes a QoS class and bumps fos1_config.policy_generation, as the agent must. */
int qos_class_put(__u32 class_id, __u32 skb_priority, __u8 dscp);
/* Bumps fos1_config.policy_generation. */
int policy_changed(void);
int lpm_put(const char *map, const char *addr, __u32 prefixlen_of_family, __u32 value);
/* Writes a block and bumps fos1_config.block_generation, as the agent must. */
int block_addr_put(const char *map, const char *addr, __u64 expires_ns);
/* Bumps fos1_config.block_generation. */
int blocks_changed(void);
__u64 stat_get(enum fos1_stat s);
__u64 now_ns(void);

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			int n_ = snprintf(H.fail, sizeof(H.fail), "%s:%d: ", __FILE__, __LINE__); \
			snprintf(H.fail + n_, sizeof(H.fail) - n_, __VA_ARGS__);           \
			return -1;                                                         \
		}                                                                          \
	} while (0)

#define CHECK_EQ(a, b)                                                                      \
	CHECK((long long)(a) == (long long)(b), "%s is %lld (0x%llx), expected %s = %lld", #a, \
	      (long long)(a), (long long)(a), #b, (long long)(b))

/* Keeps a reason the callee already gave. */
#define CHECK_OK(expr)                                                                  \
	do {                                                                            \
		if ((expr) != 0) {                                                      \
			if (!H.fail[0])                                                 \
				snprintf(H.fail, sizeof(H.fail), "%s:%d: %s failed", __FILE__, __LINE__, #expr); \
			return -1;                                                      \
		}                                                                       \
	} while (0)

struct tcase {
	const char *name;
	int (*fn)(void);
};

#define CASES(group) const struct tcase group[]
#define CASES_COUNT(group) const size_t group##_count = sizeof(group) / sizeof(group[0])

#endif /* FOS1_TEST_HARNESS_H */
