/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading the fos1 objects so that they share their maps through pinning. */
#ifndef FOS1_OBJECTS_H
#define FOS1_OBJECTS_H

#include <bpf/libbpf.h>

/* The data-plane objects, each with the one program it holds. */
#define FOS1_OBJ_INGRESS_LAN "tc_ingress_lan.o"
#define FOS1_OBJ_INGRESS_UPLINK "tc_ingress_uplink.o"
#define FOS1_OBJ_EGRESS_CLASSIFY "tc_egress_classify.o"
#define FOS1_OBJ_BENCH_REFERENCE "bench_reference.o"

/*
 * Opens and loads build_dir/file with every pinned map under pin_root (reused
 * when present, created and pinned otherwise). flows_max > 0 overrides the
 * flow table capacity (tests of eviction). Returns NULL with errno set.
 */
struct bpf_object *fos1_object_load(const char *build_dir, const char *file, const char *pin_root,
				    unsigned int flows_max);

/* The fd of the only program in obj, or -1. */
int fos1_object_prog_fd(struct bpf_object *obj);

#endif /* FOS1_OBJECTS_H */
