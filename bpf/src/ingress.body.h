/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Ingress body, included by the per-side variants after they define
 * FOS1_INGRESS_NAME and FOS1_SIDE_LAN (1 on the LAN side, where route marks
 * are decided; 0 on uplinks).
 *
 * Order per packet: blocks first (a BLOCKED flow is dropped at once; the block
 * maps are read for new flows and whenever the agent has written a block since
 * the flow last passed), then the flow entry; a new flow is INSPECT; an
 * OFFLOADED flow uses the fast path only while the agent's switch, the flow
 * and its application all allow it, and is sampled; an INSPECT flow is
 * mirrored, all of it unless the agent turned load shedding on.
 */
#include <linux/errno.h>
#include <linux/pkt_cls.h>
#include "clock.h"
#include "flow.h"
#include "fastpath.h"

#ifndef FOS1_INGRESS_NAME
#error "define FOS1_INGRESS_NAME before including ingress.body.h"
#endif
#ifndef FOS1_SIDE_LAN
#error "define FOS1_SIDE_LAN before including ingress.body.h"
#endif

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04

static __always_inline bool mirror(struct __sk_buff *skb, const struct fos1_config *cfg)
{
	if (!cfg->mirror_ifindex)
		return false;
	if (bpf_clone_redirect(skb, cfg->mirror_ifindex, 0)) {
		stat_inc(FOS1_STAT_MIRROR_FAILED);
		return false;
	}
	return true;
}

static __always_inline void mirror_selected(struct __sk_buff *skb, const struct fos1_config *cfg, bool selected)
{
	if (selected && mirror(skb, cfg))
		stat_inc(FOS1_STAT_MIRRORED);
}

/*
 * Under load the agent sets load_sample_one_in: past its first packets, an
 * INSPECT flow that may be shed mirrors 1 in N. The flow's own packet
 * counters (this packet included) decide, so the choice needs no state of its own.
 */
static __always_inline bool load_shed(const struct fos1_config *cfg, const struct fos1_flow *f)
{
	__u32 one_in = cfg->load_sample_one_in;
	__u64 seen;

	if (one_in <= 1 || (f->flags & FOS1_FLOW_F_NEVER_SHED))
		return false;
	seen = f->packets[FOS1_DIR_ORIG] + f->packets[FOS1_DIR_REPLY];
	if (seen <= FOS1_LOAD_SHED_AFTER_PACKETS)
		return false;
	return (seen - FOS1_LOAD_SHED_AFTER_PACKETS) % one_in != 0;
}

static __always_inline void mirror_inspected(struct __sk_buff *skb, const struct fos1_config *cfg,
					     const struct fos1_flow *f)
{
	if (!(f->flags & FOS1_FLOW_F_SELECTED) || !cfg->mirror_ifindex)
		return;
	if (load_shed(cfg, f)) {
		stat_inc(FOS1_STAT_LOAD_SHED);
		return;
	}
	mirror_selected(skb, cfg, true);
}

#if FOS1_SIDE_LAN
/* The application -> destination cache lets a flow take its application's uplink from the first packet. */
static __always_inline __u32 predicted_app(const struct pkt *p, __u64 now)
{
	struct fos1_app_dest *d = bpf_map_lookup_elem(&fos1_app_dest, &p->dst);

	if (!d || (d->expires_ns && now >= d->expires_ns))
		return 0;
	return d->app_id;
}

static __always_inline __u32 route_lookup(__u32 segment_id, __u32 app_id)
{
	struct fos1_route_key k = { .segment_id = segment_id, .app_id = app_id };
	struct fos1_route_target *t = bpf_map_lookup_elem(&fos1_route_policy, &k);

	return t ? t->mark : 0;
}

/* Most specific first; the compiler emits the full cross product, so this order is exact. */
static __always_inline __u32 route_mark(__u32 segment_id, __u32 app_id)
{
	__u32 mark = route_lookup(segment_id, app_id);

	if (!mark)
		mark = route_lookup(segment_id, 0);
	if (!mark)
		mark = route_lookup(0, app_id);
	if (!mark)
		mark = route_lookup(0, 0);
	return mark;
}

static __always_inline void apply_marks(struct __sk_buff *skb, const struct fos1_config *cfg, struct fos1_flow *f)
{
	__u32 bits = f->mark & cfg->fwmark_mask;

	if (!(cfg->fwmark_mask | cfg->class_mark_mask))
		return;
	if (cfg->class_mark_mask)
		bits |= (flow_class_id(cfg, f) << cfg->class_mark_shift) & cfg->class_mark_mask;
	skb->mark = (skb->mark & ~(cfg->fwmark_mask | cfg->class_mark_mask)) | bits;
}
#endif

static __always_inline struct fos1_flow *flow_create(const struct fos1_config *cfg, const struct pkt *p,
						     const struct fos1_flow_key *key, bool src_is_a, __u64 now)
{
	struct fos1_flow nf = {
		.state = FOS1_FLOW_INSPECT,
		.first_seen_ns = now,
		.block_gen = cfg->block_generation,
	};
	long err;

	if (src_is_a)
		nf.flags |= FOS1_FLOW_F_ORIG_A;
	if (inspection_selected(cfg, p))
		nf.flags |= FOS1_FLOW_F_SELECTED;
	if (either_in(&fos1_critical, p))
		nf.flags |= FOS1_FLOW_F_CRITICAL;
	if (either_in(&fos1_watch, p))
		nf.flags |= FOS1_FLOW_F_WATCHED;
	if (p->unknown_l4)
		nf.flags |= FOS1_FLOW_F_UNKNOWN_L4;
#if FOS1_SIDE_LAN
	{
		__u32 *seg = lpm_lookup(&fos1_segments, &p->src);

		nf.segment_id = seg ? *seg : 0;
		nf.app_id = predicted_app(p, now);
		nf.mark = route_mark(nf.segment_id, nf.app_id);
		if (nf.app_id) {
			struct fos1_route_key dk = { .segment_id = nf.segment_id, .app_id = nf.app_id };

			/* Application control acts as soon as the application is named, here at the first packet. */
			if (bpf_map_lookup_elem(&fos1_app_deny, &dk)) {
				nf.state = FOS1_FLOW_BLOCKED;
				nf.flags |= FOS1_FLOW_F_APP_DENIED;
			}
		}
	}
#endif
	err = bpf_map_update_elem(&fos1_flows, key, &nf, BPF_NOEXIST);
	if (err == 0)
		stat_inc(FOS1_STAT_NEW_FLOWS);
	else if (err != -EEXIST) { /* EEXIST: another CPU created it first */
		stat_inc(FOS1_STAT_FLOW_INSERT_FAILED);
		return NULL;
	}
	return bpf_map_lookup_elem(&fos1_flows, key);
}

/*
 * Fail safe: every condition must hold, each time, for a packet to skip
 * inspection. The application's policy is the flow's copy, current as of the
 * last policy_generation the agent published.
 */
static __always_inline bool offload_permitted(const struct fos1_config *cfg, struct fos1_flow *f, __u64 now)
{
	if (!(cfg->flags & FOS1_CFG_OFFLOAD_ENABLED))
		return false;
	if (cfg->offload_lease_until_ns && now >= cfg->offload_lease_until_ns)
		return false;
	if (f->flags & FOS1_FLOW_F_NEVER_OFFLOAD)
		return false;
	app_policy_read(cfg, f);
	return (f->app_flags & (FOS1_APP_OFFLOAD_ALLOWED | FOS1_APP_NEVER_OFFLOAD)) == FOS1_APP_OFFLOAD_ALLOWED;
}

static __always_inline void offload_check(const struct fos1_config *cfg, struct fos1_flow *f, __u64 now)
{
	if (!offload_permitted(cfg, f, now)) {
		f->state = FOS1_FLOW_INSPECT;
		f->offload_deadline_ns = 0;
		stat_inc(FOS1_STAT_OFFLOAD_REVOKED);
		return;
	}
	if (!f->offload_deadline_ns) {
		if (cfg->reinspect_after_ns)
			f->offload_deadline_ns = now + cfg->reinspect_after_ns;
	} else if (now >= f->offload_deadline_ns) {
		f->state = FOS1_FLOW_INSPECT;
		f->offload_deadline_ns = 0;
		stat_inc(FOS1_STAT_REINSPECT_DEADLINE);
	}
}

static __always_inline int fastpath(struct __sk_buff *skb, const struct fos1_config *cfg, struct fos1_flow *f,
				    const struct pkt *p, __u32 dir, __u64 now)
{
	int ret;

	if ((f->flags & FOS1_FLOW_F_SELECTED) && cfg->sample_one_in) {
		/* Approximate under concurrency by design: sampling needs no atomics. */
		__u32 n = ++f->sample_count;

		if (n % cfg->sample_one_in == 0 && mirror(skb, cfg))
			stat_inc(FOS1_STAT_SAMPLED);
	}
	/* Connection set-up and tear-down go through conntrack so its state stays true. */
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_SYN | TCP_FLAG_RST))) {
		stat_inc(FOS1_STAT_FASTPATH_FALLBACK);
		return TC_ACT_OK;
	}
	ret = fastpath_redirect(skb, cfg, p, f, dir, now);
	if (ret < 0) {
		stat_inc(FOS1_STAT_FASTPATH_FALLBACK);
		return TC_ACT_OK;
	}
	stat_inc(FOS1_STAT_FASTPATH);
	return ret;
}

SEC("tc")
int FOS1_INGRESS_NAME(struct __sk_buff *skb)
{
	struct fos1_flow_key key FOS1_KEY_ALIGNED;
	struct fos1_config *cfg;
	struct pkt p = {};
	struct fos1_flow *f;
	bool src_is_a;
	__u32 dir;
	__u64 now;
	int ret;

	stat_inc(FOS1_STAT_PACKETS);
	ret = parse_packet(skb, &p);
	if (ret == PARSE_NOT_IP) {
		stat_inc(FOS1_STAT_NOT_IP);
		return TC_ACT_OK;
	}
	cfg = config_get();
	if (!cfg)
		return TC_ACT_OK;
	/* Tick resolution is ample for TTLs and deadlines. */
	now = clock_now_ns();
	if (ret != PARSE_OK) {
		/* Malformed and fragmented packets never touch the flow table; the sensors still see them. */
		if (p.have_addrs && addr_blocked(&p, now)) {
			stat_inc(FOS1_STAT_BLOCKED);
			return TC_ACT_SHOT;
		}
		stat_inc(ret == PARSE_FRAGMENT ? FOS1_STAT_FRAGMENTS : FOS1_STAT_MALFORMED);
		if (p.have_addrs)
			mirror_selected(skb, cfg, inspection_selected(cfg, &p));
		return TC_ACT_OK;
	}

	src_is_a = flow_key_from_pkt(&p, &key);
	f = bpf_map_lookup_elem(&fos1_flows, &key);
	/* A blocked flow stays blocked whatever the block maps say now: no need to read them. */
	if (f && f->state == FOS1_FLOW_BLOCKED) {
		stat_inc(FOS1_STAT_BLOCKED);
		return TC_ACT_SHOT;
	}
	/* A flow that passed the blocks at the current generation skips them: no block was written since. */
	if (!f || f->block_gen != cfg->block_generation) {
		if (addr_blocked(&p, now) || block_active(bpf_map_lookup_elem(&fos1_block_flow, &key), now)) {
			stat_inc(FOS1_STAT_BLOCKED);
			if (f)
				f->state = FOS1_FLOW_BLOCKED;
			return TC_ACT_SHOT;
		}
		if (f)
			f->block_gen = cfg->block_generation;
	}
	if (!f) {
		f = flow_create(cfg, &p, &key, src_is_a, now);
		if (!f) {
			mirror_selected(skb, cfg, inspection_selected(cfg, &p));
			return TC_ACT_OK;
		}
		/* Another CPU may have created it first, and the agent may have blocked it since. */
		if (f->state == FOS1_FLOW_BLOCKED) {
			stat_inc(FOS1_STAT_BLOCKED);
			return TC_ACT_SHOT;
		}
	}

	dir = src_is_a == !!(f->flags & FOS1_FLOW_F_ORIG_A) ? FOS1_DIR_ORIG : FOS1_DIR_REPLY;
	__sync_fetch_and_add(&f->packets[dir], 1);
	__sync_fetch_and_add(&f->bytes[dir], skb->len);
	/* The coarse clock ticks every few ms: most packets of a busy flow need no store here. */
	if (f->last_seen_ns != now)
		f->last_seen_ns = now;

	if (f->state == FOS1_FLOW_OFFLOADED)
		offload_check(cfg, f, now);
	if (f->state == FOS1_FLOW_OFFLOADED) {
		ret = fastpath(skb, cfg, f, &p, dir, now);
		if (ret != TC_ACT_OK)
			return ret;
	}
#if FOS1_SIDE_LAN
	/* Only packets the kernel routes need the marks: the fast path looks the route up with the flow's mark itself. */
	apply_marks(skb, cfg, f);
#endif
	if (f->state != FOS1_FLOW_OFFLOADED)
		mirror_inspected(skb, cfg, f);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
