// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fos1-load BUILD_DIR PIN_ROOT: loads the data-plane objects with every map
 * pinned by name under PIN_ROOT (existing pins are reused, so enforcement
 * state survives) and pins each program as PIN_ROOT/progs/<program name>,
 * replacing an older pin. Attaching is then plain tc, e.g.
 *   tc filter replace dev eth0 ingress pref 1 handle 1 bpf da pinned PIN_ROOT/progs/fos1_ingress_lan
 * Prints one "program <name> <pinned path>" line per program.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "objects.h"

static const char *const objects[] = { FOS1_OBJ_INGRESS_LAN, FOS1_OBJ_INGRESS_UPLINK, FOS1_OBJ_EGRESS_CLASSIFY };

int main(int argc, char **argv)
{
	char dir[PATH_MAX / 2], path[PATH_MAX];
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BUILD_DIR PIN_ROOT\n", argv[0]);
		return 2;
	}
	if (snprintf(dir, sizeof(dir), "%s/progs", argv[2]) >= (int)sizeof(dir)) {
		fprintf(stderr, "fos1-load: pin root too long\n");
		return 2;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "fos1-load: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		struct bpf_object *obj = fos1_object_load(argv[1], objects[i], argv[2], 0);
		struct bpf_program *prog;

		if (!obj) {
			fprintf(stderr, "fos1-load: %s/%s: %s\n", argv[1], objects[i], strerror(errno));
			return 1;
		}
		prog = bpf_object__next_program(obj, NULL);
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_program__name(prog));
		/* A new pin replaces the old; tc filters keep the program they hold until re-attached. */
		if ((unlink(path) && errno != ENOENT) || bpf_program__pin(prog, path)) {
			fprintf(stderr, "fos1-load: pinning %s: %s\n", path, strerror(errno));
			bpf_object__close(obj);
			return 1;
		}
		printf("program %s %s\n", bpf_program__name(prog), path);
		bpf_object__close(obj);
	}
	return 0;
}
