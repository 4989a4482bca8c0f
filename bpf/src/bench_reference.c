// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The benchmark's yardstick, not a data-plane program: the least a flow-aware
 * program does per packet (parse, one 5-tuple LRU lookup or insert, a counter
 * update). Its maps are private (not pinned).
 */
#include <linux/pkt_cls.h>
#include "parse.h"

struct ref_key {
	struct fos1_addr src;
	struct fos1_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FOS1_FLOWS_MAX);
	__type(key, struct ref_key);
	__type(value, __u64);
} ref_flows SEC(".maps");

SEC("tc")
int fos1_bench_reference(struct __sk_buff *skb)
{
	struct ref_key k = {};
	struct pkt p = {};
	__u64 one = 1, *count;

	if (parse_packet(skb, &p) != PARSE_OK)
		return TC_ACT_OK;
	k.src = p.src;
	k.dst = p.dst;
	k.sport = p.sport;
	k.dport = p.dport;
	k.proto = p.proto;
	count = bpf_map_lookup_elem(&ref_flows, &k);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&ref_flows, &k, &one, BPF_NOEXIST);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
