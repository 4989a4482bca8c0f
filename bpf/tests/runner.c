// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet-level tests of the fos1 programs through BPF_PROG_TEST_RUN, in a
 * private network namespace. Prints "PASS name" or "FAIL name: reason" per
 * case and a closing "N passed, N failed" line; exits non-zero on any failure.
 * Usage: fos1-packet-tests BUILD_DIR [CASE_NAME...]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "objects.h"

#define GROUP(name)                        \
	extern const struct tcase name[];  \
	extern const size_t name##_count
GROUP(cases_flow);
GROUP(cases_parse);
GROUP(cases_fastpath);
GROUP(cases_block);
GROUP(cases_classify);
GROUP(cases_route);
GROUP(cases_failsafe);
GROUP(cases_cache);
GROUP(cases_load);

static const struct {
	const struct tcase *cases;
	const size_t *count;
} groups[] = {
	{ cases_flow, &cases_flow_count },	   { cases_parse, &cases_parse_count },
	{ cases_fastpath, &cases_fastpath_count }, { cases_block, &cases_block_count },
	{ cases_classify, &cases_classify_count }, { cases_route, &cases_route_count },
	{ cases_failsafe, &cases_failsafe_count }, { cases_cache, &cases_cache_count },
	{ cases_load, &cases_load_count },
};

static int selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc <= 2)
		return 1;
	for (i = 2; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static int setup(const char *build)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	H.build = build;
	if (fb_netns_enter(&H.ns))
		return -1;
	H.lan = fos1_object_load(build, FOS1_OBJ_INGRESS_LAN, H.ns.bpffs, 0);
	H.uplink = H.lan ? fos1_object_load(build, FOS1_OBJ_INGRESS_UPLINK, H.ns.bpffs, 0) : NULL;
	H.classify = H.uplink ? fos1_object_load(build, FOS1_OBJ_EGRESS_CLASSIFY, H.ns.bpffs, 0) : NULL;
	if (!H.classify) {
		fprintf(stderr, "loading the objects from %s failed: %s\n", build, strerror(errno));
		return -1;
	}
	H.mirror_sock = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	sll.sll_ifindex = H.ns.if_mirror_peer;
	if (H.mirror_sock < 0 || bind(H.mirror_sock, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("mirror socket");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	size_t g, i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s BUILD_DIR [CASE_NAME...]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup(argv[1])) {
		fb_netns_leave(&H.ns);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (i = 0; i < *groups[g].count; i++) {
			const struct tcase *t = &groups[g].cases[i];

			if (!selected(t->name, argc, argv))
				continue;
			H.fail[0] = 0;
			if (reset_maps()) {
				snprintf(H.fail, sizeof(H.fail), "resetting the maps failed: %s", strerror(errno));
			} else if (t->fn() == 0) {
				printf("PASS %s\n", t->name);
				passed++;
				continue;
			}
			printf("FAIL %s: %s\n", t->name, H.fail);
			failed++;
		}
	}
	bpf_object__close(H.classify);
	bpf_object__close(H.uplink);
	bpf_object__close(H.lan);
	fb_netns_leave(&H.ns);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
