/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded flow table: a chained hash of normalised keys plus one expiry list
 * per timeout class. Packet time never goes backwards, so appending on every
 * packet keeps each list ordered by last_seen and expiry only looks at heads.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sensor.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Seeded so crafted traffic cannot aim many flows at one bucket. */
static size_t flow_hash(const struct flow_table *t, const struct flow_key *key)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t h = t->seed;
	size_t i;

	for (i = 0; i + 8 <= sizeof(*key); i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
	}
	for (; i < sizeof(*key); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (size_t)mix64(h) & t->bucket_mask;
}

int flow_table_init(struct flow_table *t, size_t max_flows, const double timeouts[FLOW_LIST_COUNT])
{
	size_t nbuckets = 1024;

	memset(t, 0, sizeof(*t));
	while (nbuckets < max_flows)
		nbuckets <<= 1;
	t->buckets = calloc(nbuckets, sizeof(*t->buckets));
	if (t->buckets == NULL)
		return -1;
	t->bucket_mask = nbuckets - 1;
	t->max_flows = max_flows;
	memcpy(t->timeouts, timeouts, sizeof(t->timeouts));
	if (getrandom(&t->seed, sizeof(t->seed), 0) != (ssize_t)sizeof(t->seed))
		t->seed = 0x5bd1e9955bd1e995ULL;
	return 0;
}

void flow_table_free(struct flow_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
}

static int addr_port_cmp(const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp)
{
	int c = memcmp(a, b, 16);

	if (c != 0)
		return c;
	return (int)ap - (int)bp;
}

void flow_key_from_packet(const struct packet_info *pi, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	if (addr_port_cmp(pi->src, pi->sport, pi->dst, pi->dport) <= 0) {
		memcpy(key->addr_lo, pi->src, 16);
		memcpy(key->addr_hi, pi->dst, 16);
		key->port_lo = pi->sport;
		key->port_hi = pi->dport;
	} else {
		memcpy(key->addr_lo, pi->dst, 16);
		memcpy(key->addr_hi, pi->src, 16);
		key->port_lo = pi->dport;
		key->port_hi = pi->sport;
	}
	key->vlan_tagged = pi->vlan_tagged;
	key->vlan_id = pi->vlan_id;
	key->ip_version = pi->ip_version;
	key->l4_proto = pi->l4_proto;
}

struct flow *flow_table_lookup(const struct flow_table *t, const struct flow_key *key)
{
	struct flow *f;

	for (f = t->buckets[flow_hash(t, key)]; f != NULL; f = f->hash_next)
		if (memcmp(&f->key, key, sizeof(*key)) == 0)
			return f;
	return NULL;
}

static void list_unlink(struct flow_table *t, struct flow *f)
{
	struct flow_list *l = &t->lists[f->list];

	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = NULL;
}

static void list_append(struct flow_table *t, struct flow *f, enum flow_list_id list)
{
	struct flow_list *l = &t->lists[list];

	f->list = list;
	f->next = NULL;
	f->prev = l->tail;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
}

void flow_table_insert(struct flow_table *t, struct flow *f, enum flow_list_id list)
{
	size_t b = flow_hash(t, &f->key);

	f->hash_next = t->buckets[b];
	t->buckets[b] = f;
	list_append(t, f, list);
	t->count++;
}

void flow_table_touch(struct flow_table *t, struct flow *f, enum flow_list_id list)
{
	list_unlink(t, f);
	list_append(t, f, list);
}

void flow_table_remove(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[flow_hash(t, &f->key)];

	while (*pp != NULL && *pp != f)
		pp = &(*pp)->hash_next;
	if (*pp == f)
		*pp = f->hash_next;
	f->hash_next = NULL;
	list_unlink(t, f);
	t->count--;
}

struct flow *flow_table_next_expired(const struct flow_table *t, double now)
{
	int i;

	for (i = 0; i < FLOW_LIST_COUNT; i++) {
		struct flow *head = t->lists[i].head;

		if (head != NULL && head->last_seen + t->timeouts[i] < now)
			return head;
	}
	return NULL;
}

struct flow *flow_table_oldest(const struct flow_table *t)
{
	struct flow *oldest = NULL;
	int i;

	for (i = 0; i < FLOW_LIST_COUNT; i++) {
		struct flow *head = t->lists[i].head;

		if (head != NULL && (oldest == NULL || head->last_seen < oldest->last_seen))
			oldest = head;
	}
	return oldest;
}

struct flow *flow_table_any(const struct flow_table *t)
{
	int i;

	for (i = 0; i < FLOW_LIST_COUNT; i++)
		if (t->lists[i].head != NULL)
			return t->lists[i].head;
	return NULL;
}
