/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packets most cases start from: a LAN client (10.1.0.10, fd01::10)
 * talking to a server behind the default uplink (198.51.100.10, 2001:db8::10).
 */
#ifndef FOS1_TEST_SPECS_H
#define FOS1_TEST_SPECS_H

#include <netinet/in.h>
#include "packet.h"

#define CLIENT4 "10.1.0.10"
#define SERVER4 "198.51.100.10"
#define CLIENT6 "fd01::10"
#define SERVER6 "2001:db8::10"

static inline struct pkt_spec tcp4(void)
{
	return (struct pkt_spec){ .src = CLIENT4, .dst = SERVER4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 443,
				  .payload = 32 };
}

static inline struct pkt_spec udp4(void)
{
	return (struct pkt_spec){ .src = CLIENT4, .dst = SERVER4, .proto = IPPROTO_UDP, .sport = 40001, .dport = 53,
				  .payload = 18 };
}

static inline struct pkt_spec tcp6(void)
{
	return (struct pkt_spec){ .v6 = 1, .src = CLIENT6, .dst = SERVER6, .proto = IPPROTO_TCP, .sport = 40002,
				  .dport = 443, .payload = 32 };
}

/* The same flow, seen from the other end. */
static inline struct pkt_spec reversed(struct pkt_spec s)
{
	const char *a = s.src;
	__u16 p = s.sport;

	s.src = s.dst;
	s.dst = a;
	if (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP) {
		s.sport = s.dport;
		s.dport = p;
	}
	return s;
}

#endif /* FOS1_TEST_SPECS_H */
