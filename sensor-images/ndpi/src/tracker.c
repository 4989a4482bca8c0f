/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow lifecycle: a packet finds or opens its flow, updates counters and TCP
 * close state, feeds nDPI until detection completes ("classified" line), and
 * the flow ends on close, idle timeout, eviction or end of capture ("end").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sensor.h"

int tracker_init(struct tracker *tr, size_t max_flows, const double timeouts[FLOW_LIST_COUNT], FILE *out)
{
	memset(tr, 0, sizeof(*tr));
	tr->out = out;
	tr->ndpi = classify_init();
	if (tr->ndpi == NULL)
		return -1;
	if (flow_table_init(&tr->table, max_flows, timeouts) != 0) {
		ndpi_exit_detection_module(tr->ndpi);
		return -1;
	}
	return 0;
}

static void emit(struct tracker *tr, enum flow_event event, const struct flow *f, double ts)
{
	if (tr->output_failed)
		return;
	if (emit_flow_event(tr->out, tr->ndpi, event, f, ts) != 0) {
		tr->output_failed = 1;
		tr->output_errno = errno;
	}
}

static void finish_flow(struct tracker *tr, struct flow *f, double ts)
{
	if (!f->classified) {
		classify_giveup(tr->ndpi, f);
		emit(tr, FLOW_EVENT_CLASSIFIED, f, ts);
	}
	emit(tr, FLOW_EVENT_END, f, ts);
	flow_table_remove(&tr->table, f);
	classify_release(f);
	free(f);
}

void tracker_expire(struct tracker *tr, double now)
{
	struct flow *f;

	if (now > tr->now)
		tr->now = now;
	while ((f = flow_table_next_expired(&tr->table, tr->now)) != NULL)
		finish_flow(tr, f, tr->now);
}

void tracker_drain(struct tracker *tr)
{
	struct flow *f;

	while ((f = flow_table_any(&tr->table)) != NULL)
		finish_flow(tr, f, tr->now);
}

void tracker_free(struct tracker *tr)
{
	struct flow *f;

	while ((f = flow_table_any(&tr->table)) != NULL) {
		flow_table_remove(&tr->table, f);
		classify_release(f);
		free(f);
	}
	flow_table_free(&tr->table);
	ndpi_exit_detection_module(tr->ndpi);
}

static enum flow_list_id list_for_proto(uint8_t l4_proto)
{
	if (l4_proto == IPPROTO_TCP)
		return FLOW_LIST_TCP;
	if (l4_proto == IPPROTO_UDP)
		return FLOW_LIST_UDP;
	return FLOW_LIST_OTHER;
}

static struct flow *open_flow(struct tracker *tr, const struct flow_key *key, const struct packet_info *pi)
{
	struct flow *f;

	if (tr->table.count >= tr->table.max_flows) {
		tr->stats.evicted++;
		finish_flow(tr, flow_table_oldest(&tr->table), pi->ts);
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->ndpi = ndpi_flow_malloc(sizeof(struct ndpi_flow_struct));
	if (f->ndpi == NULL) {
		free(f);
		return NULL;
	}
	memset(f->ndpi, 0, sizeof(struct ndpi_flow_struct));
	f->key = *key;
	f->id = ++tr->last_flow_id;
	memcpy(f->src, pi->src, sizeof(f->src));
	memcpy(f->dst, pi->dst, sizeof(f->dst));
	f->sport = pi->sport;
	f->dport = pi->dport;
	f->first_seen = pi->ts;
	flow_table_insert(&tr->table, f, list_for_proto(pi->l4_proto));
	tr->stats.flows++;
	return f;
}

static int is_connection_open(const struct packet_info *pi)
{
	return pi->l4_proto == IPPROTO_TCP && (pi->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

void tracker_packet(struct tracker *tr, struct packet_info *pi, double ts, uint64_t time_ms)
{
	struct flow_key key;
	struct flow *f;
	int c2s;

	/* Time never runs backwards, or the expiry lists would lose their order. */
	if (ts < tr->now)
		ts = tr->now;
	if (time_ms < tr->now_ms)
		time_ms = tr->now_ms;
	pi->ts = ts;
	pi->time_ms = time_ms;
	tr->now_ms = time_ms;
	tracker_expire(tr, ts);

	flow_key_from_packet(pi, &key);
	f = flow_table_lookup(&tr->table, &key);
	/* A new SYN on a closed 5-tuple is a new connection, not the old one's tail. */
	if (f != NULL && f->list == FLOW_LIST_CLOSING && is_connection_open(pi)) {
		finish_flow(tr, f, ts);
		f = NULL;
	}
	if (f == NULL) {
		f = open_flow(tr, &key, pi);
		if (f == NULL) {
			tr->stats.no_memory++;
			return;
		}
	}

	c2s = memcmp(pi->src, f->src, sizeof(f->src)) == 0 && pi->sport == f->sport;
	if (c2s) {
		f->c2s_packets++;
		f->c2s_bytes += pi->wire_len;
	} else {
		f->s2c_packets++;
		f->s2c_bytes += pi->wire_len;
	}
	f->last_seen = ts;

	if (pi->tcp_flags & TCP_FLAG_FIN) {
		if (c2s)
			f->fin_c2s = 1;
		else
			f->fin_s2c = 1;
	}
	if (pi->tcp_flags & TCP_FLAG_RST)
		f->rst = 1;
	flow_table_touch(&tr->table, f,
			 f->rst || (f->fin_c2s && f->fin_s2c) ? FLOW_LIST_CLOSING : list_for_proto(pi->l4_proto));

	if (!f->classified && classify_packet(tr->ndpi, f, pi))
		emit(tr, FLOW_EVENT_CLASSIFIED, f, ts);
}
