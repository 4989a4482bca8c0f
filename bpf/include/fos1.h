/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between the fos1 eBPF programs and user space (agent, policy
 * compiler, tests). Every map key/value, constant and map name lives here and
 * nowhere else; sdk/abi mirrors it byte for byte and a test compares the two
 * against the BTF clang emits.
 *
 * Layouts are explicit: every struct is naturally aligned with named padding,
 * so C and TypeScript agree without compiler-specific rules. Addresses are 16
 * bytes in network order; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so one
 * map serves both families. Ports are in network byte order. Times are
 * CLOCK_MONOTONIC nanoseconds, read by the programs at tick resolution
 * (bpf_ktime_get_coarse_ns), so they may lag user space by up to one tick.
 */
#ifndef FOS1_H
#define FOS1_H

#include <linux/types.h>

#define FOS1_ADDR_LEN 16

/* Map names; maps are pinned by name under the agent's pin root. */
#define FOS1_MAP_CONFIG "fos1_config"
#define FOS1_MAP_QOS_CLASSES "fos1_qos_classes"
#define FOS1_MAP_APP_POLICY "fos1_app_policy"
#define FOS1_MAP_ROUTE_POLICY "fos1_route_policy"
#define FOS1_MAP_APP_DENY "fos1_app_deny"
#define FOS1_MAP_SEGMENTS "fos1_segments"
#define FOS1_MAP_INSPECT_SELECT "fos1_inspect_select"
#define FOS1_MAP_CRITICAL "fos1_critical"
#define FOS1_MAP_WATCH "fos1_watch"
#define FOS1_MAP_FLOWS "fos1_flows"
#define FOS1_MAP_BLOCK_SRC "fos1_block_src"
#define FOS1_MAP_BLOCK_DST "fos1_block_dst"
#define FOS1_MAP_BLOCK_FLOW "fos1_block_flow"
#define FOS1_MAP_APP_DEST "fos1_app_dest"
#define FOS1_MAP_STATS "fos1_stats"
#define FOS1_MAP_FLOW_PATCH "fos1_flow_patch"

/* Capacities (max_entries). */
#define FOS1_FLOWS_MAX 131072
#define FOS1_BLOCKS_MAX 65536
#define FOS1_APP_DEST_MAX 65536
#define FOS1_POLICY_MAX 16384
#define FOS1_PREFIXES_MAX 16384

/* fos1_config.flags */
#define FOS1_CFG_OFFLOAD_ENABLED (1U << 0) /* agent alive: offloaded flows may use the fast path */
#define FOS1_CFG_INSPECT_ALL (1U << 1)     /* no selector: every flow is mirrored */

struct fos1_config {
	__u32 flags;
	__u32 sample_one_in;          /* offloaded flows still mirror 1 packet in N; 0 = none */
	__u64 reinspect_after_ns;     /* offloaded flows return to INSPECT after this; 0 = never */
	__u32 mirror_ifindex;         /* sensor mirror interface; 0 = no mirroring */
	__u32 fwmark_mask;            /* bits of skb->mark the route mark owns; 0 = mark untouched */
	__u32 class_mark_mask;        /* bits of skb->mark carrying class_id past NAT; 0 = unused */
	__u32 class_mark_shift;       /* class_id << shift, masked by class_mark_mask */
	__u64 offload_lease_until_ns; /* agent heartbeat: fast path only while now < lease; 0 = no lease */
	__u32 block_generation;       /* bumped by the agent after every write to a fos1_block_* map */
	__u32 policy_generation;      /* bumped by the agent after every write to fos1_app_policy or fos1_qos_classes */
	__u64 nexthop_ttl_ns;         /* fast path reuses a flow's FIB result this long; 0 = look up every packet */
	__u32 load_sample_one_in;     /* agent, under load: INSPECT flows that may be shed mirror 1 in N; 0 or 1 = all */
	__u32 pad;
};

/*
 * Load shedding keeps every flow's first packets (both directions counted):
 * the sensors classify from them, so every flow is still named.
 */
#define FOS1_LOAD_SHED_AFTER_PACKETS 32

/*
 * The QoS default class (HTB 1:10): a flow no class names gets its entry in
 * fos1_qos_classes, where a QoS policy put one, so unclassified traffic
 * leaves with the default DSCP (best effort) instead of whatever the sender
 * marked.
 */
#define FOS1_DEFAULT_CLASS_ID 0x10

struct fos1_qos_class {
	__u32 skb_priority; /* HTB class handle, e.g. 0x10011 for 1:11 */
	__u8 dscp;          /* 6-bit DSCP written on egress; ECN bits are kept */
	__u8 pad[3];
};

/* fos1_app_policy.flags; app_id 0 (no application named yet) has no policy: never offloaded, no class. */
#define FOS1_APP_OFFLOAD_ALLOWED (1U << 0)
#define FOS1_APP_NEVER_OFFLOAD (1U << 1) /* sensitive, TLS inspection: wins over OFFLOAD_ALLOWED */

struct fos1_app_policy {
	__u32 class_id;
	__u32 flags;
};

/* segment_id 0 = any segment, app_id 0 = any application. */
struct fos1_route_key {
	__u32 segment_id;
	__u32 app_id;
};

struct fos1_route_target {
	__u32 mark;
};

/*
 * fos1_app_deny: (segment_id, app_id) -> the number of the application-control
 * rule that denies it. Keys are exact (segment_id 0 = a source in no segment;
 * no "any" wildcard: first-match allow rules are already resolved). A flow
 * whose application the destination cache names at its first packet is
 * BLOCKED from that packet on; later classifications are the agent's.
 */

/* IPv4 prefix /n is stored as /(96+n) of its IPv4-mapped address. */
struct fos1_lpm_key {
	__u32 prefixlen;
	__u8 addr[FOS1_ADDR_LEN];
};

struct fos1_addr {
	__u8 addr[FOS1_ADDR_LEN];
};

/*
 * Normalised flow key: endpoint a is the lower of the two (address, port)
 * pairs, comparing the address as a big-endian 128-bit number, then the port
 * as a number, so both directions of a flow find the same entry. ICMP echo
 * uses the identifier as both ports; other ICMP and unknown protocols use 0.
 */
struct fos1_flow_key {
	__u8 addr_a[FOS1_ADDR_LEN];
	__u8 addr_b[FOS1_ADDR_LEN];
	__be16 port_a;
	__be16 port_b;
	__u16 vlan_id; /* 802.1Q VID (12 bits), 0 = untagged */
	__u8 proto;    /* IPPROTO_* of the transport header */
	__u8 pad;
};

enum fos1_flow_state {
	FOS1_FLOW_INSPECT = 0,   /* default for every new flow: slow path, mirrored if selected */
	FOS1_FLOW_OFFLOADED = 1, /* cleared by inspection: fast path, sampled */
	FOS1_FLOW_BLOCKED = 2,   /* dropped */
};

/* fos1_flow.flags */
#define FOS1_FLOW_F_ORIG_A (1U << 0)      /* the first packet came from endpoint a */
#define FOS1_FLOW_F_SELECTED (1U << 1)    /* a selected workload: mirrored to the sensors */
#define FOS1_FLOW_F_CRITICAL (1U << 2)    /* an endpoint is in a critical zone */
#define FOS1_FLOW_F_WATCHED (1U << 3)     /* an endpoint is watch-listed */
#define FOS1_FLOW_F_UNKNOWN_L4 (1U << 4)  /* not TCP/UDP/ICMP: ports unknown */
#define FOS1_FLOW_F_ANOMALY (1U << 5)     /* set by the agent: back to INSPECT, never fast path */
#define FOS1_FLOW_F_APP_DENIED (1U << 6)  /* BLOCKED by an application-control deny: no block's expiry releases it */
#define FOS1_FLOW_F_NEVER_OFFLOAD \
	(FOS1_FLOW_F_CRITICAL | FOS1_FLOW_F_WATCHED | FOS1_FLOW_F_UNKNOWN_L4 | FOS1_FLOW_F_ANOMALY)
/* Fully inspected even under load: critical, watch-listed, and flows an anomaly sent back to inspection. */
#define FOS1_FLOW_F_NEVER_SHED (FOS1_FLOW_F_CRITICAL | FOS1_FLOW_F_WATCHED | FOS1_FLOW_F_ANOMALY)

enum fos1_dir {
	FOS1_DIR_ORIG = 0,  /* same direction as the flow's first packet */
	FOS1_DIR_REPLY = 1,
};

/*
 * A flow entry. The agent changes state, app_id, class_id and the ANOMALY flag
 * with read-modify-write and keeps the rest; counters are the programs'.
 * Arrays of two are indexed by enum fos1_dir.
 */
struct fos1_flow {
	__u32 state;      /* enum fos1_flow_state */
	__u32 flags;      /* FOS1_FLOW_F_* */
	__u32 app_id;     /* set by the agent once inspection names the application */
	__u32 class_id;   /* QoS class; 0 = the class of app_id's policy */
	__u32 mark;       /* route mark, decided at the first packet, never changed */
	__u32 segment_id; /* source segment at the first packet */
	__u32 sample_count;
	__u32 block_gen;  /* fos1_config.block_generation at which the blocks last let this flow pass */
	/* Next-hop cache of the fast path, per direction: the FIB result, valid for nexthop_ttl_ns. */
	__u32 nh_ifindex[2];
	__u16 nh_mtu[2];
	__u8 nh_smac[2][6];
	__u8 nh_dmac[2][6];
	__u8 dscp;        /* DSCP the classifier applied last */
	__u8 pad[3];
	__u64 packets[2];
	__u64 bytes[2];
	__u64 first_seen_ns;
	__u64 last_seen_ns;
	__u64 offload_deadline_ns; /* re-inspection time; 0 = set at the first fast-path packet */
	__u64 nh_checked_ns[2];
	/*
	 * The policy maps read through per flow, so that a packet of a known flow
	 * looks up no policy: each copy holds while its *_gen equals
	 * fos1_config.policy_generation and its *_key is still the flow's. The
	 * programs own these fields; the agent keeps them as read.
	 */
	__u32 app_gen;
	__u32 app_key;          /* the app_id read; 0 = none (app_id 0 has no policy) */
	__u32 app_class_id;     /* that application's class_id */
	__u32 app_flags;        /* its FOS1_APP_* flags; 0 when it has no policy */
	__u32 qos_gen;
	__u32 qos_key;          /* the class_id read; 0 = none */
	__u32 qos_skb_priority; /* that class's entry */
	__u8 qos_dscp;
	__u8 qos_found;         /* the class has a fos1_qos_classes entry */
	__u8 pad2[2];
};

/*
 * The agent's flow verdicts, applied in the kernel: the agent writes a batch
 * into the single entry of fos1_flow_patch and runs the fos1_flow_patch
 * program (BPF_PROG_RUN), which patches each existing flow in place, taking
 * from patches[i] the bits set in mask and keeping the rest (counters,
 * caches) as the programs have them. No flow is created; found[i] says which
 * existed. One syscall per batch instead of a read and a write per flow.
 */
#define FOS1_FLOW_PATCH_MAX 1024

struct fos1_flow_patch_batch {
	__u32 count; /* entries in this batch, at most FOS1_FLOW_PATCH_MAX */
	__u32 pad;
	struct fos1_flow mask;
	struct fos1_flow_key keys[FOS1_FLOW_PATCH_MAX];
	struct fos1_flow patches[FOS1_FLOW_PATCH_MAX];
	__u8 found[FOS1_FLOW_PATCH_MAX];
};

struct fos1_block {
	__u64 expires_ns; /* 0 = never */
	__u32 reason;     /* agent-defined reason code, for reports */
	__u32 pad;
};

struct fos1_app_dest {
	__u32 app_id;
	__u32 pad;
	__u64 expires_ns; /* 0 = never */
};

enum fos1_stat {
	FOS1_STAT_PACKETS = 0,
	FOS1_STAT_NOT_IP,
	FOS1_STAT_MALFORMED,
	FOS1_STAT_FRAGMENTS,
	FOS1_STAT_NEW_FLOWS,
	FOS1_STAT_FLOW_INSERT_FAILED,
	FOS1_STAT_BLOCKED,
	FOS1_STAT_MIRRORED,
	FOS1_STAT_MIRROR_FAILED,
	FOS1_STAT_SAMPLED,
	FOS1_STAT_FASTPATH,
	FOS1_STAT_FASTPATH_FALLBACK, /* offloaded, but FIB/TTL/VLAN/TCP FIN sent it the slow way */
	FOS1_STAT_OFFLOAD_REVOKED,   /* switch off, lease over, policy or flow forbids */
	FOS1_STAT_REINSPECT_DEADLINE,
	FOS1_STAT_CLASSIFIED,
	FOS1_STAT_DSCP_REWRITTEN,
	FOS1_STAT_LOAD_SHED, /* an INSPECT packet not mirrored because load_sample_one_in shed it */
	FOS1_STAT__MAX,
};

#endif /* FOS1_H */
