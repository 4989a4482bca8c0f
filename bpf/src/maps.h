/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map definitions shared by every program. All maps are pinned by name so the
 * objects loaded separately share them and enforcement survives an agent
 * restart. Blocks live in plain hashes, never in the LRU flow table, so flow
 * eviction cannot lose one.
 */
#ifndef FOS1_MAPS_H
#define FOS1_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "fos1.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos1_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS1_POLICY_MAX);
	__type(key, __u32);
	__type(value, struct fos1_qos_class);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_qos_classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS1_POLICY_MAX);
	__type(key, __u32);
	__type(value, struct fos1_app_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_app_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS1_POLICY_MAX);
	__type(key, struct fos1_route_key);
	__type(value, struct fos1_route_target);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_route_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS1_POLICY_MAX);
	__type(key, struct fos1_route_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_app_deny SEC(".maps");

#define FOS1_LPM_MAP(name)                                      \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);            \
		__uint(max_entries, FOS1_PREFIXES_MAX);         \
		__uint(map_flags, BPF_F_NO_PREALLOC);           \
		__type(key, struct fos1_lpm_key);               \
		__type(value, __u32);                           \
		__uint(pinning, LIBBPF_PIN_BY_NAME);            \
	} name SEC(".maps")

FOS1_LPM_MAP(fos1_segments);       /* source prefix -> segment_id */
FOS1_LPM_MAP(fos1_inspect_select); /* prefix -> nonzero: its traffic is mirrored */
FOS1_LPM_MAP(fos1_critical);       /* prefix -> zone id: never offloaded */
FOS1_LPM_MAP(fos1_watch);          /* prefix -> nonzero: never offloaded */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS1_FLOWS_MAX);
	__type(key, struct fos1_flow_key);
	__type(value, struct fos1_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_flows SEC(".maps");

#define FOS1_BLOCK_MAP(name, key_type)                  \
	struct {                                        \
		__uint(type, BPF_MAP_TYPE_HASH);        \
		__uint(max_entries, FOS1_BLOCKS_MAX);   \
		__type(key, key_type);                  \
		__type(value, struct fos1_block);       \
		__uint(pinning, LIBBPF_PIN_BY_NAME);    \
	} name SEC(".maps")

FOS1_BLOCK_MAP(fos1_block_src, struct fos1_addr);
FOS1_BLOCK_MAP(fos1_block_dst, struct fos1_addr);
FOS1_BLOCK_MAP(fos1_block_flow, struct fos1_flow_key);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FOS1_APP_DEST_MAX);
	__type(key, struct fos1_addr);
	__type(value, struct fos1_app_dest);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_app_dest SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FOS1_STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_stats SEC(".maps");

static __always_inline void stat_inc(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&fos1_stats, &stat);

	if (v)
		*v += 1;
}

#endif /* FOS1_MAPS_H */
