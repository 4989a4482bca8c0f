/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives nDPI the way ndpiReader 4.2 does, so both name flows alike: feed
 * packets until nDPI names the application and needs no more packets for
 * metadata (certificates, ...), or until the TCP/UDP packet budget is spent;
 * a flow still unknown then is given up with port/IP guessing enabled.
 */
#include <string.h>

#include "sensor.h"

_Static_assert(sizeof(((struct ndpi_flow_struct *)0)->host_server_name) == HOST_NAME_LEN,
	       "HOST_NAME_LEN must match nDPI's host_server_name");

struct ndpi_detection_module_struct *classify_init(void)
{
	struct ndpi_detection_module_struct *ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	NDPI_PROTOCOL_BITMASK all;

	if (ndpi == NULL)
		return NULL;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(ndpi, &all);
	ndpi_finalize_initialization(ndpi);
	return ndpi;
}

void classify_release(struct flow *f)
{
	if (f->ndpi != NULL) {
		ndpi_free_flow(f->ndpi);
		f->ndpi = NULL;
	}
}

static void classify_complete(struct flow *f, ndpi_protocol proto)
{
	struct ndpi_flow_struct *nf = f->ndpi;

	f->result.proto = proto;
	f->result.confidence = nf->confidence;
	f->result.risk = nf->risk;
	memcpy(f->result.host, nf->host_server_name, sizeof(f->result.host));
	f->result.host[sizeof(f->result.host) - 1] = '\0';
	f->classified = 1;
	classify_release(f);
}

void classify_giveup(struct ndpi_detection_module_struct *ndpi, struct flow *f)
{
	uint8_t guessed = 0;
	ndpi_protocol proto;

	if (f->classified || f->ndpi == NULL)
		return;
	proto = ndpi_detection_giveup(ndpi, f->ndpi, 1, &guessed);
	classify_complete(f, proto);
}

int classify_packet(struct ndpi_detection_module_struct *ndpi, struct flow *f, const struct packet_info *pi)
{
	uint64_t seen = f->c2s_packets + f->s2c_packets;
	int enough = (pi->l4_proto == IPPROTO_TCP && seen > MAX_TCP_DISSECTED_PACKETS) ||
		     (pi->l4_proto == IPPROTO_UDP && seen > MAX_UDP_DISSECTED_PACKETS);
	ndpi_protocol proto;

	if (f->classified || f->ndpi == NULL)
		return 0;
	proto = ndpi_detection_process_packet(ndpi, f->ndpi, pi->l3, pi->l3_len, pi->time_ms);
	if (!enough) {
		if (proto.app_protocol == NDPI_PROTOCOL_UNKNOWN)
			return 0;
		if (ndpi_extra_dissection_possible(ndpi, f->ndpi))
			return 0;
	}
	if (proto.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
		classify_giveup(ndpi, f);
		return 1;
	}
	classify_complete(f, proto);
	return 1;
}
