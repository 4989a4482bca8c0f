// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Egress classifier for uplinks (and LAN interfaces for downstream QoS): flow
 * -> QoS class -> skb->priority (the HTB class handle) and DSCP. Behind NAT the
 * flow key no longer matches, so the class also travels in skb->mark bits that
 * the LAN ingress program set. Traffic no class names is the default class's:
 * the DSCP a sender chose is not trusted past the router.
 */
#include <linux/pkt_cls.h>
#include "flow.h"
#include "dscp.h"

/*
 * The class's QoS entry, from the flow's copy when it holds this class at the
 * current policy_generation (see struct fos1_flow), else from the map.
 */
static __always_inline bool qos_class_read(const struct fos1_config *cfg, struct fos1_flow *f, __u32 class_id,
					   struct fos1_qos_class *out)
{
	__u32 gen = cfg->policy_generation;
	struct fos1_qos_class *qc;

	if (f && f->qos_key == class_id && f->qos_gen == gen) {
		out->skb_priority = f->qos_skb_priority;
		out->dscp = f->qos_dscp;
		return f->qos_found;
	}
	qc = bpf_map_lookup_elem(&fos1_qos_classes, &class_id);
	if (qc)
		*out = *qc;
	if (f) {
		f->qos_found = !!qc;
		f->qos_skb_priority = qc ? out->skb_priority : 0;
		f->qos_dscp = qc ? out->dscp : 0;
		barrier();
		f->qos_gen = gen;
		f->qos_key = class_id;
	}
	return qc;
}

SEC("tc")
int fos1_egress_classify(struct __sk_buff *skb)
{
	struct fos1_qos_class qc = {};
	struct fos1_flow_key key FOS1_KEY_ALIGNED;
	struct fos1_flow *f = NULL;
	struct fos1_config *cfg;
	struct pkt p = {};
	__u32 class_id = 0;
	int ret;

	ret = parse_packet(skb, &p);
	if (ret == PARSE_NOT_IP || ret == PARSE_MALFORMED)
		return TC_ACT_OK;
	cfg = config_get();
	if (!cfg)
		return TC_ACT_OK;
	if (ret == PARSE_OK) {
		flow_key_from_pkt(&p, &key);
		f = bpf_map_lookup_elem(&fos1_flows, &key);
		if (f)
			class_id = flow_class_id(cfg, f);
	}
	if (!class_id && cfg->class_mark_mask)
		class_id = (skb->mark & cfg->class_mark_mask) >> cfg->class_mark_shift;
	if (!class_id)
		class_id = FOS1_DEFAULT_CLASS_ID;
	if (!qos_class_read(cfg, f, class_id, &qc))
		return TC_ACT_OK;

	skb->priority = qc.skb_priority;
	stat_inc(FOS1_STAT_CLASSIFIED);
	if (dscp_set(skb, &p, qc.dscp))
		stat_inc(FOS1_STAT_DSCP_REWRITTEN);
	/* Written only on change: a store per packet would bounce the cache line between CPUs. */
	if (f && f->dscp != qc.dscp)
		f->dscp = qc.dscp;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
