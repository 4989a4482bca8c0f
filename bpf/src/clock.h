/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The programs' clock: CLOCK_MONOTONIC at tick resolution, as
 * bpf_ktime_get_coarse_ns() gives it, for a fraction of its cost. The coarse
 * clock only moves when the tick advances jiffies, and jiffies are one load
 * (the verifier inlines bpf_jiffies64), so each CPU reads the clock once per
 * tick and reuses the value until jiffies move.
 */
#ifndef FOS1_CLOCK_H
#define FOS1_CLOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Per-CPU program state, not part of the map contract: private to each object, never pinned. */
struct tick_clock {
	__u64 jiffies;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_clock);
} tick_clock SEC(".maps");

static __always_inline __u64 clock_now_ns(void)
{
	__u32 zero = 0;
	struct tick_clock *c = bpf_map_lookup_elem(&tick_clock, &zero);
	__u64 jiffies = bpf_jiffies64(), ns;

	if (c && c->jiffies == jiffies)
		return c->ns;
	ns = bpf_ktime_get_coarse_ns();
	/*
	 * The tick advances jiffies just before the coarse clock: a value that has
	 * not moved yet may be one tick old, so it is not kept for the new jiffy.
	 */
	if (c && c->ns != ns) {
		c->jiffies = jiffies;
		c->ns = ns;
	}
	return ns;
}

#endif /* FOS1_CLOCK_H */
