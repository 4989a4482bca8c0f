// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "fos1.h"
#include "objects.h"

struct bpf_object *fos1_object_load(const char *build_dir, const char *file, const char *pin_root,
				    unsigned int flows_max)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	char path[PATH_MAX];
	struct bpf_object *obj;
	struct bpf_map *map;
	int err;

	snprintf(path, sizeof(path), "%s/%s", build_dir, file);
	obj = bpf_object__open_file(path, &opts);
	if (!obj)
		return NULL;
	if (flows_max) {
		map = bpf_object__find_map_by_name(obj, FOS1_MAP_FLOWS);
		if (map && bpf_map__set_max_entries(map, flows_max)) {
			err = errno;
			bpf_object__close(obj);
			errno = err;
			return NULL;
		}
	}
	err = bpf_object__load(obj);
	if (err) {
		bpf_object__close(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

int fos1_object_prog_fd(struct bpf_object *obj)
{
	struct bpf_program *prog = bpf_object__next_program(obj, NULL);

	return prog ? bpf_program__fd(prog) : -1;
}
