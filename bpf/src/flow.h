/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow keys, block checks and policy lookups shared by every program. */
#ifndef FOS1_FLOW_H
#define FOS1_FLOW_H

#include "maps.h"
#include "parse.h"

#define FOS1_KEY_ALIGNED __attribute__((aligned(8)))

/* Big-endian comparison of two 16-byte addresses (8-byte aligned, as struct pkt holds them): <0, 0, >0. */
static __always_inline int addr_cmp(const struct fos1_addr *a, const struct fos1_addr *b)
{
	const __u64 *x = (const __u64 *)a->addr;
	const __u64 *y = (const __u64 *)b->addr;
	__u64 u = x[0], v = y[0];

	if (u == v) {
		u = x[1];
		v = y[1];
		if (u == v)
			return 0;
	}
	return bpf_be64_to_cpu(u) < bpf_be64_to_cpu(v) ? -1 : 1;
}

/* Copies an 8-byte aligned address into a key field the caller keeps 8-byte aligned. */
static __always_inline void addr_copy(__u8 *to, const struct fos1_addr *from)
{
	const __u64 *s = (const __u64 *)from->addr;
	__u64 *d = (__u64 *)to;

	d[0] = s[0];
	d[1] = s[1];
}

/*
 * Both directions of a flow must find the same entry, so the key orders the
 * endpoints. Returns true when the packet's source is endpoint a. The key must
 * be 8-byte aligned (FOS1_KEY_ALIGNED).
 */
static __always_inline bool flow_key_from_pkt(const struct pkt *p, struct fos1_flow_key *k)
{
	int c = addr_cmp(&p->src, &p->dst);
	bool src_is_a = c < 0 || (c == 0 && bpf_ntohs(p->sport) <= bpf_ntohs(p->dport));

	if (src_is_a) {
		addr_copy(k->addr_a, &p->src);
		addr_copy(k->addr_b, &p->dst);
		k->port_a = p->sport;
		k->port_b = p->dport;
	} else {
		addr_copy(k->addr_a, &p->dst);
		addr_copy(k->addr_b, &p->src);
		k->port_a = p->dport;
		k->port_b = p->sport;
	}
	k->vlan_id = p->vlan_id;
	k->proto = p->proto;
	k->pad = 0;
	return src_is_a;
}

static __always_inline struct fos1_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fos1_config, &zero);
}

/* An expired block is ignored but left for the agent to prune: deleting it here could race a renewal. */
static __always_inline bool block_active(const struct fos1_block *b, __u64 now)
{
	return b && (b->expires_ns == 0 || now < b->expires_ns);
}

static __always_inline bool addr_blocked(const struct pkt *p, __u64 now)
{
	return block_active(bpf_map_lookup_elem(&fos1_block_src, &p->src), now) ||
	       block_active(bpf_map_lookup_elem(&fos1_block_dst, &p->dst), now);
}

static __always_inline __u32 *lpm_lookup(void *map, const struct fos1_addr *a)
{
	struct fos1_lpm_key k = { .prefixlen = 128 };

	__builtin_memcpy(k.addr, a->addr, FOS1_ADDR_LEN);
	return bpf_map_lookup_elem(map, &k);
}

static __always_inline bool either_in(void *map, const struct pkt *p)
{
	__u32 *v = lpm_lookup(map, &p->src);

	if (v && *v)
		return true;
	v = lpm_lookup(map, &p->dst);
	return v && *v;
}

static __always_inline bool inspection_selected(const struct fos1_config *cfg, const struct pkt *p)
{
	return (cfg->flags & FOS1_CFG_INSPECT_ALL) || either_in(&fos1_inspect_select, p);
}

/* Keeps the compiler from moving the stores of a cached copy past the key that validates it. */
#define barrier() asm volatile("" ::: "memory")

/*
 * The flow's application policy, read through the flow entry (see struct
 * fos1_flow) into app_class_id and app_flags: the map is looked up again only
 * after the agent bumped policy_generation or changed the flow's app_id.
 */
static __always_inline void app_policy_read(const struct fos1_config *cfg, struct fos1_flow *f)
{
	__u32 gen = cfg->policy_generation, app_id = f->app_id;
	struct fos1_app_policy *ap = NULL;

	/* app_id 0 has no policy at any generation, so a zeroed entry already holds its copy. */
	if (f->app_key == app_id && (f->app_gen == gen || !app_id))
		return;
	if (app_id)
		ap = bpf_map_lookup_elem(&fos1_app_policy, &app_id);
	f->app_class_id = ap ? ap->class_id : 0;
	f->app_flags = ap ? ap->flags : 0;
	barrier();
	f->app_gen = gen;
	f->app_key = app_id;
}

/* The effective class: the flow's own, else its application's. */
static __always_inline __u32 flow_class_id(const struct fos1_config *cfg, struct fos1_flow *f)
{
	if (f->class_id)
		return f->class_id;
	app_policy_read(cfg, f);
	return f->app_class_id;
}

#endif /* FOS1_FLOW_H */
