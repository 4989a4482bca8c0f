/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A private network and mount namespace for the packet tests and the program
 * benchmark: a router's interfaces made of veth pairs, so FIB lookups,
 * redirects and mirror clones hit a real kernel without touching the host.
 */
#ifndef FOS1_NETNS_H
#define FOS1_NETNS_H

/* Interface names carry the "fb" prefix of this component. */
#define FB_IF_LAN "fbt-lan"
#define FB_IF_WAN "fbt-wan"
#define FB_IF_WAN2 "fbt-wan2"
#define FB_IF_MIRROR "fbt-mir"
#define FB_IF_MIRROR_PEER "fbt-mirp"

#define FB_MAC_LAN "02:fb:00:00:01:01"
#define FB_MAC_CLIENT "02:fb:00:00:01:02"
#define FB_MAC_WAN "02:fb:00:00:02:01"
#define FB_MAC_WAN_GW "02:fb:00:00:02:02"
#define FB_MAC_WAN2 "02:fb:00:00:03:01"
#define FB_MAC_WAN2_GW "02:fb:00:00:03:02"
/* Route marks with this value (mask FB_POLICY_MARK_MASK) use uplink 2's table. */
#define FB_POLICY_MARK 0x100
#define FB_POLICY_MARK_MASK 0xff00

struct fb_netns {
	char bpffs[64]; /* private bpffs mount: the pin root */
	int if_lan, if_wan, if_wan2, if_mirror, if_mirror_peer;
};

/*
 * Unshares network and mount namespaces, mounts a private bpffs, and builds
 * the router: LAN 10.1.0.1/24 fd01::1/64; uplink 1 10.2.0.1/24 fd02::1/64
 * with gateway .2/::2 as default route; uplink 2 10.3.0.1/24 fd03::1/64 with
 * gateway .2/::2 as default of table 100, chosen by ip rule on
 * FB_POLICY_MARK; a mirror veth pair. Returns 0 or -1 with a message printed.
 */
int fb_netns_enter(struct fb_netns *ns);

/* Unmounts the private bpffs and removes its directory. */
void fb_netns_leave(struct fb_netns *ns);

#endif /* FOS1_NETNS_H */
