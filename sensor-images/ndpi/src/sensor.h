/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fos1-ndpi-sensor: the structs and constants shared by its parts
 * (decode -> flow table -> nDPI classification -> JSON lines).
 */
#ifndef FOS1_NDPI_SENSOR_H
#define FOS1_NDPI_SENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ndpi_api.h>
#include <pcap/pcap.h>

#define SENSOR_NAME "fos1-ndpi-sensor"

/* Same give-up points as ndpiReader 4.2 (-T / -U defaults), so both agree. */
#define MAX_TCP_DISSECTED_PACKETS 80
#define MAX_UDP_DISSECTED_PACKETS 24

#define DEFAULT_MAX_FLOWS 131072u
#define MAX_MAX_FLOWS (1u << 24)
#define DEFAULT_TCP_IDLE_TIMEOUT 300.0
#define DEFAULT_UDP_IDLE_TIMEOUT 120.0
#define DEFAULT_OTHER_IDLE_TIMEOUT 60.0
/* After FIN from both sides or a RST, late ACKs/retransmissions still belong
 * to the flow; it ends once it has been quiet this long. */
#define DEFAULT_CLOSE_LINGER 2.0

#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXT_HEADERS 8
#define HOST_NAME_LEN 80 /* == sizeof(ndpi_flow_struct.host_server_name) */

/* ---------------------------------------------------------------- decode */

struct packet_info {
	double ts;        /* seconds, never earlier than the previous packet */
	uint64_t time_ms; /* ts in ms, as nDPI wants it */
	uint32_t wire_len;
	const uint8_t *l3; /* IP header: what nDPI dissects */
	uint16_t l3_len;   /* captured bytes from the IP header on */
	uint8_t ip_version;
	uint8_t l4_proto;
	uint8_t vlan_tagged;
	uint16_t vlan_id;
	uint8_t src[16], dst[16]; /* IPv4 uses the first 4 bytes, rest zero */
	uint16_t sport, dport;    /* host order; 0 for protocols without ports */
	uint8_t tcp_flags;        /* 0 unless TCP */
};

enum decode_result {
	DECODE_OK = 0,
	DECODE_NOT_IP,     /* ARP, STP, unsupported link or ethertype */
	DECODE_TRUNCATED,  /* headers cut short by the snap length */
	DECODE_MALFORMED,  /* header fields that contradict each other */
	DECODE_FRAGMENT,   /* a non-first IP fragment: no L4 header to key on */
};

/* Fills `pi` (except ts/time_ms) from one captured frame of `linktype`. */
enum decode_result decode_packet(int linktype, const struct pcap_pkthdr *hdr, const uint8_t *frame,
				 struct packet_info *pi);
int decode_linktype_supported(int linktype);

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* ------------------------------------------------------------ flow table */

/* Normalised so both directions of a conversation find the same entry. */
struct flow_key {
	uint8_t addr_lo[16], addr_hi[16];
	uint16_t port_lo, port_hi;
	uint16_t vlan_id;
	uint8_t vlan_tagged;
	uint8_t ip_version;
	uint8_t l4_proto;
	uint8_t pad[3]; /* zeroed: keys are hashed and compared bytewise */
};

/* One expiry list per timeout, each ordered by last_seen. */
enum flow_list_id {
	FLOW_LIST_TCP = 0,
	FLOW_LIST_UDP,
	FLOW_LIST_OTHER,
	FLOW_LIST_CLOSING,
	FLOW_LIST_COUNT,
};

struct classification {
	ndpi_protocol proto;
	ndpi_confidence_t confidence;
	ndpi_risk risk;
	char host[HOST_NAME_LEN];
};

struct flow {
	struct flow_key key;
	struct flow *hash_next;
	struct flow *prev, *next; /* expiry list */
	enum flow_list_id list;

	uint64_t id;
	uint8_t src[16], dst[16]; /* initiator first */
	uint16_t sport, dport;
	double first_seen, last_seen;
	uint64_t c2s_packets, c2s_bytes, s2c_packets, s2c_bytes;
	uint8_t fin_c2s, fin_s2c, rst;

	/* Owned until detection completes; NULL afterwards to keep memory bounded. */
	struct ndpi_flow_struct *ndpi;
	int classified;
	struct classification result;
};

struct flow_list {
	struct flow *head, *tail;
};

struct flow_table {
	struct flow **buckets;
	size_t bucket_mask;
	uint64_t seed;
	size_t count, max_flows;
	struct flow_list lists[FLOW_LIST_COUNT];
	double timeouts[FLOW_LIST_COUNT];
};

int flow_table_init(struct flow_table *t, size_t max_flows, const double timeouts[FLOW_LIST_COUNT]);
void flow_table_free(struct flow_table *t);
void flow_key_from_packet(const struct packet_info *pi, struct flow_key *key);
struct flow *flow_table_lookup(const struct flow_table *t, const struct flow_key *key);
void flow_table_insert(struct flow_table *t, struct flow *f, enum flow_list_id list);
/* Marks `f` as just seen: moves it to the tail of `list`. */
void flow_table_touch(struct flow_table *t, struct flow *f, enum flow_list_id list);
void flow_table_remove(struct flow_table *t, struct flow *f);
/* A flow idle past its list's timeout at `now`, or NULL. */
struct flow *flow_table_next_expired(const struct flow_table *t, double now);
/* The least recently seen flow of all lists, or NULL when empty. */
struct flow *flow_table_oldest(const struct flow_table *t);
/* Any flow, or NULL when empty (for draining at end of capture). */
struct flow *flow_table_any(const struct flow_table *t);

/* -------------------------------------------------------- classification */

struct ndpi_detection_module_struct *classify_init(void);
/* Feeds one packet to nDPI; returns 1 once detection is complete (decided
 * or given up), after which f->result holds the answer and f->ndpi is freed. */
int classify_packet(struct ndpi_detection_module_struct *ndpi, struct flow *f, const struct packet_info *pi);
/* Ends detection for a flow that stops before nDPI decided (guess, as ndpiReader does). */
void classify_giveup(struct ndpi_detection_module_struct *ndpi, struct flow *f);
void classify_release(struct flow *f);

/* ---------------------------------------------------------- flow tracker */

struct tracker_stats {
	uint64_t flows;
	uint64_t evicted;
	uint64_t no_memory;
};

struct tracker {
	struct ndpi_detection_module_struct *ndpi;
	struct flow_table table;
	FILE *out;
	uint64_t last_flow_id;
	double now;      /* latest time seen: packet time, or wall clock when live */
	uint64_t now_ms; /* the same in ms for nDPI */
	int output_failed;
	int output_errno;
	struct tracker_stats stats;
};

int tracker_init(struct tracker *tr, size_t max_flows, const double timeouts[FLOW_LIST_COUNT], FILE *out);
/* pi is completed with the (monotonic) ts/time_ms it was processed at. */
void tracker_packet(struct tracker *tr, struct packet_info *pi, double ts, uint64_t time_ms);
/* Ends flows idle past their timeout at `now`. */
void tracker_expire(struct tracker *tr, double now);
/* Ends every flow: end of capture. */
void tracker_drain(struct tracker *tr);
void tracker_free(struct tracker *tr);

/* ------------------------------------------------------------ JSON lines */

enum flow_event {
	FLOW_EVENT_CLASSIFIED,
	FLOW_EVENT_END,
};

/* Writes one line and flushes it; returns -1 when stdout is gone. */
int emit_flow_event(FILE *out, struct ndpi_detection_module_struct *ndpi, enum flow_event event,
		    const struct flow *f, double ts);

#endif
