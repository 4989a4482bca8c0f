// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fos1_flow_patch: the agent's flow verdicts (offload, return to inspection,
 * classification) applied in place, a batch per run (see struct
 * fos1_flow_patch_batch). Patching in the kernel leaves the programs' own
 * members untouched: only the words the mask covers are rewritten.
 */
#include "maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fos1_flow_patch_batch);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fos1_flow_patch SEC(".maps");

#define FLOW_WORDS (sizeof(struct fos1_flow) / sizeof(__u64))

/* bpf_loop's context must live on the stack: it carries the batch pointer. */
struct loop_ctx {
	struct fos1_flow_patch_batch *b;
};

static long patch_one(__u32 i, void *ctx)
{
	struct fos1_flow_patch_batch *b = ((struct loop_ctx *)ctx)->b;
	const __u64 *mask, *patch;
	struct fos1_flow *f;
	__u64 *v;
	int w;

	if (i >= FOS1_FLOW_PATCH_MAX)
		return 1;
	f = bpf_map_lookup_elem(&fos1_flows, &b->keys[i]);
	b->found[i] = f != NULL;
	if (!f)
		return 0;
	v = (__u64 *)f;
	mask = (const __u64 *)&b->mask;
	patch = (const __u64 *)&b->patches[i];
	for (w = 0; w < FLOW_WORDS; w++) {
		if (mask[w])
			v[w] = (v[w] & ~mask[w]) | (patch[w] & mask[w]);
	}
	return 0;
}

SEC("syscall")
int fos1_flow_patch_run(void *ctx)
{
	struct fos1_flow_patch_batch *b;
	struct loop_ctx lc;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&fos1_flow_patch, &zero);
	if (!b || b->count > FOS1_FLOW_PATCH_MAX)
		return -1;
	lc.b = b;
	bpf_loop(b->count, patch_one, &lc, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
