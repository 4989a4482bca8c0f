// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include "netns.h"

static const char *const setup_cmds[] = {
	"ip link set lo up",
	"ip link add " FB_IF_LAN " address " FB_MAC_LAN " type veth peer name fbt-lanp address " FB_MAC_CLIENT,
	"ip link add " FB_IF_WAN " address " FB_MAC_WAN " type veth peer name fbt-wanp address " FB_MAC_WAN_GW,
	"ip link add " FB_IF_WAN2 " address " FB_MAC_WAN2 " type veth peer name fbt-wan2p address " FB_MAC_WAN2_GW,
	"ip link add " FB_IF_MIRROR " type veth peer name " FB_IF_MIRROR_PEER,
	"sysctl -qw net.ipv6.conf.fbt-mir.disable_ipv6=1 net.ipv6.conf.fbt-mirp.disable_ipv6=1",
	"for i in fbt-lan fbt-lanp fbt-wan fbt-wanp fbt-wan2 fbt-wan2p fbt-mir fbt-mirp; do ip link set $i up; done",
	"sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
	"ip addr add 10.1.0.1/24 dev " FB_IF_LAN,
	"ip addr add fd01::1/64 dev " FB_IF_LAN " nodad",
	"ip addr add 10.2.0.1/24 dev " FB_IF_WAN,
	"ip addr add fd02::1/64 dev " FB_IF_WAN " nodad",
	"ip addr add 10.3.0.1/24 dev " FB_IF_WAN2,
	"ip addr add fd03::1/64 dev " FB_IF_WAN2 " nodad",
	"ip neigh replace 10.2.0.2 lladdr " FB_MAC_WAN_GW " dev " FB_IF_WAN " nud permanent",
	"ip neigh replace fd02::2 lladdr " FB_MAC_WAN_GW " dev " FB_IF_WAN " nud permanent",
	"ip neigh replace 10.3.0.2 lladdr " FB_MAC_WAN2_GW " dev " FB_IF_WAN2 " nud permanent",
	"ip neigh replace fd03::2 lladdr " FB_MAC_WAN2_GW " dev " FB_IF_WAN2 " nud permanent",
	"ip neigh replace 10.1.0.10 lladdr " FB_MAC_CLIENT " dev " FB_IF_LAN " nud permanent",
	"ip neigh replace fd01::10 lladdr " FB_MAC_CLIENT " dev " FB_IF_LAN " nud permanent",
	"ip route add default via 10.2.0.2 dev " FB_IF_WAN,
	"ip -6 route add default via fd02::2 dev " FB_IF_WAN,
	"ip route add default via 10.3.0.2 dev " FB_IF_WAN2 " table 100",
	"ip -6 route add default via fd03::2 dev " FB_IF_WAN2 " table 100",
	"ip rule add fwmark 0x100/0xff00 table 100",
	"ip -6 rule add fwmark 0x100/0xff00 table 100",
};

int fb_netns_enter(struct fb_netns *ns)
{
	size_t i;

	memset(ns, 0, sizeof(*ns));
	if (unshare(CLONE_NEWNET | CLONE_NEWNS)) {
		perror("fb_netns: unshare");
		return -1;
	}
	/* Nothing mounted from here on may propagate back to the host. */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("fb_netns: make / private");
		return -1;
	}
	snprintf(ns->bpffs, sizeof(ns->bpffs), "/tmp/fb-bpffs-XXXXXX");
	if (!mkdtemp(ns->bpffs)) {
		perror("fb_netns: mkdtemp");
		return -1;
	}
	if (mount("bpf", ns->bpffs, "bpf", 0, NULL)) {
		perror("fb_netns: mount bpffs");
		rmdir(ns->bpffs);
		ns->bpffs[0] = 0;
		return -1;
	}
	for (i = 0; i < sizeof(setup_cmds) / sizeof(setup_cmds[0]); i++) {
		if (system(setup_cmds[i]) != 0) {
			fprintf(stderr, "fb_netns: failed: %s\n", setup_cmds[i]);
			return -1;
		}
	}
	ns->if_lan = if_nametoindex(FB_IF_LAN);
	ns->if_wan = if_nametoindex(FB_IF_WAN);
	ns->if_wan2 = if_nametoindex(FB_IF_WAN2);
	ns->if_mirror = if_nametoindex(FB_IF_MIRROR);
	ns->if_mirror_peer = if_nametoindex(FB_IF_MIRROR_PEER);
	return 0;
}

void fb_netns_leave(struct fb_netns *ns)
{
	if (!ns->bpffs[0])
		return;
	umount2(ns->bpffs, MNT_DETACH);
	rmdir(ns->bpffs);
	ns->bpffs[0] = 0;
}
