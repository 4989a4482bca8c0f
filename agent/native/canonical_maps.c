// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The reader of canonical policy maps (agent/src/api/canonical-maps.ts says
 * what it accepts): `spec.maps` of a PUT body, read from its bytes straight
 * into the bytes the kernel's maps take. Native because a 100k-entry body
 * is read once per PUT in a process whose JIT has not warmed up to it: the
 * same loop in JavaScript took 70-130 ms there, against ~30 ms warm.
 *
 * The grammar (maps and members, in sorted order, with where and how each
 * member is stored) comes from the TypeScript side as bytes, so the layouts
 * have one source. Prefixes other than plain IPv4 are left for the caller
 * to write, listed by where they are.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "canonical_maps.h"

#define MAX_MAPS 32
#define MAX_MEMBERS 16
#define MAX_NAME 64
/* Integers of up to 15 digits are exact as doubles, so they print as they were written. */
#define MAX_DIGITS 15
/* `{"key":{},"value":{}}`: no entry is shorter. */
#define MIN_ENTRY 21

/* A map's or member's name, as a list of them is matched (member_name). */
struct name {
	uint8_t len;
	char text[MAX_NAME];
};

struct member {
	struct name name;
	uint16_t offset;
	/* 1 or 4: a little-endian number; 0: a prefix string. */
	uint8_t width;
	uint32_t min, max;
};

struct grammar_map {
	struct name name;
	uint16_t key_size, value_size;
	uint8_t nkey, nvalue;
	struct member key[MAX_MEMBERS], value[MAX_MEMBERS];
};

struct grammar {
	uint8_t nmaps;
	struct grammar_map maps[MAX_MAPS];
	uint32_t note_max, text_max, entries_max;
};

/* A prefix the reader did not write: where its text is and where its key goes. */
struct pending {
	uint32_t map, offset, start, length;
};

struct out_map {
	uint32_t grammar, count;
	uint8_t *keys, *values;
	/* agent/src/bpf/key-index.ts's table of the keys (index_keys says when there is none). */
	int32_t *index;
	uint32_t index_len;
	/* Keys whose prefix the caller writes: unknown here, so not indexed. */
	bool pending;
};

struct reader {
	const uint8_t *b;
	size_t len, i;
	const struct grammar *g;
	struct out_map maps[MAX_MAPS];
	uint32_t nmaps;
	struct pending *pending;
	uint32_t npending, pending_room;
};

/* A name of the grammar at *i (its length, then its bytes), with `then` more bytes after it; false when short. */
static bool name_parse(const uint8_t *p, size_t len, size_t *i, struct name *n, size_t then)
{
	if (*i + 1 > len)
		return false;
	n->len = p[(*i)++];
	if (n->len > MAX_NAME || *i + n->len + then > len)
		return false;
	memcpy(n->text, p + *i, n->len);
	*i += n->len;
	return true;
}

/* Reads the grammar bytes canonical-maps.ts writes; false when they are malformed. */
static bool grammar_parse(const uint8_t *p, size_t len, struct grammar *g)
{
	size_t i = 0;
	uint32_t m, k;

#define NEED(n)                    \
	do {                       \
		if (i + (n) > len) \
			return false; \
	} while (0)
#define U8() (p[i++])
#define U16() (i += 2, (uint16_t)(p[i - 2] | p[i - 1] << 8))
#define U32() (i += 4, (uint32_t)p[i - 4] | (uint32_t)p[i - 3] << 8 | (uint32_t)p[i - 2] << 16 | (uint32_t)p[i - 1] << 24)

	NEED(13);
	g->note_max = U32();
	g->text_max = U32();
	g->entries_max = U32();
	g->nmaps = U8();
	if (g->nmaps > MAX_MAPS)
		return false;
	for (m = 0; m < g->nmaps; m++) {
		struct grammar_map *gm = &g->maps[m];

		if (!name_parse(p, len, &i, &gm->name, 6))
			return false;
		gm->key_size = U16();
		gm->value_size = U16();
		gm->nkey = U8();
		gm->nvalue = U8();
		if (gm->nkey > MAX_MEMBERS || gm->nvalue > MAX_MEMBERS)
			return false;
		for (k = 0; k < (uint32_t)gm->nkey + gm->nvalue; k++) {
			struct member *f = k < gm->nkey ? &gm->key[k] : &gm->value[k - gm->nkey];
			uint16_t size = k < gm->nkey ? gm->key_size : gm->value_size;

			if (!name_parse(p, len, &i, &f->name, 11))
				return false;
			f->offset = U16();
			f->width = U8();
			f->min = U32();
			f->max = U32();
			/* A prefix is written as a whole LPM key: 4 bytes of length, 16 of address. */
			if ((f->width != 0 && f->width != 1 && f->width != 4) ||
			    (uint32_t)f->offset + (f->width ? f->width : 20u) > size)
				return false;
		}
	}
	return i == len;
#undef NEED
#undef U8
#undef U16
#undef U32
}

/* Every failure below means "not what the reader vouches for": the caller takes the slow path. */
#define DECLINE false

static inline int byte_at(const struct reader *r, size_t i)
{
	return i < r->len ? r->b[i] : -1;
}

static bool expect(struct reader *r, uint8_t c)
{
	if (byte_at(r, r->i) != c)
		return DECLINE;
	r->i++;
	return true;
}

static bool literal(struct reader *r, const char *text, size_t n)
{
	if (r->i + n > r->len || memcmp(r->b + r->i, text, n))
		return DECLINE;
	r->i += n;
	return true;
}

/*
 * A quoted name that is one of `count` names from `first` on (sorted order):
 * its index, or -1. The names are members of an array of structs `stride`
 * bytes apart, starting at `names`.
 */
static int member_name(struct reader *r, const struct name *names, size_t stride, int first, int count)
{
	size_t start = r->i + 1;
	int k;

	if (byte_at(r, r->i) != '"')
		return -1;
	for (k = first; k < count; k++) {
		const struct name *n = (const struct name *)((const char *)names + (size_t)k * stride);

		if (start + n->len < r->len && !memcmp(r->b + start, n->text, n->len) && r->b[start + n->len] == '"') {
			r->i = start + n->len + 1;
			return k;
		}
	}
	return -1;
}

/*
 * A string through its closing quote; its length in bytes, or -1. It ends at
 * the next quote: the caller declines maps holding a backslash. A control
 * character would be no JSON.
 */
static long string_length(struct reader *r)
{
	size_t start = r->i + 1, close;

	if (byte_at(r, r->i) != '"')
		return -1;
	for (close = start; close < r->len && r->b[close] != '"'; close++)
		if (r->b[close] < 0x20)
			return -1;
	if (close >= r->len)
		return -1;
	r->i = close + 1;
	return (long)(close - start);
}

/* An unsigned integer as JSON writes it, within the member's range, stored little-endian. */
static bool integer(struct reader *r, const struct member *f, uint8_t *out)
{
	size_t start = r->i, i = start;
	uint64_t v = 0;

	while (i < r->len && r->b[i] >= '0' && r->b[i] <= '9' && i - start < MAX_DIGITS)
		v = v * 10 + (r->b[i++] - '0');
	/* A digit still following: more than MAX_DIGITS of them. */
	if (i == start || (i - start > 1 && r->b[start] == '0') || (i < r->len && r->b[i] >= '0' && r->b[i] <= '9'))
		return DECLINE;
	if (v < f->min || v > f->max)
		return DECLINE;
	r->i = i;
	out[0] = v & 0xff;
	if (f->width == 4) {
		out[1] = (v >> 8) & 0xff;
		out[2] = (v >> 16) & 0xff;
		out[3] = (v >> 24) & 0xff;
	}
	return true;
}

/*
 * Writes the LPM key of `a.b.c.d/n` (zeroed) as policy-maps.ts writePrefix
 * does, the address as sdk/abi parseIPv4 reads one; false for any other text.
 */
static bool ipv4_prefix(const uint8_t *s, size_t n, uint8_t *out)
{
	uint32_t address = 0, part = 0, length = 0;
	int digits = 0, dots = 0;
	size_t i = 0, j;

	for (; i < n; i++) {
		uint8_t c = s[i];

		if (c == '.') {
			if (digits == 0 || ++dots > 3)
				return false;
			address = address * 256 + part;
			part = 0;
			digits = 0;
		} else if (c >= '0' && c <= '9') {
			if (digits == 1 && part == 0)
				return false;
			part = part * 10 + (c - '0');
			if (++digits > 3 || part > 255)
				return false;
		} else {
			break;
		}
	}
	if (digits == 0 || dots != 3 || i >= n || s[i] != '/')
		return false;
	address = address * 256 + part;
	if (n - i - 1 < 1 || n - i - 1 > 3)
		return false;
	for (j = i + 1; j < n; j++) {
		if (s[j] < '0' || s[j] > '9')
			return false;
		length = length * 10 + (s[j] - '0');
	}
	if (length > 32)
		return false;
	/* Host bits: what is left below the prefix's bits. */
	if (length < 32 && (address & (uint32_t)((1ULL << (32 - length)) - 1)))
		return false;
	out[0] = 96 + length;
	out[14] = 0xff;
	out[15] = 0xff;
	out[16] = address >> 24;
	out[17] = (address >> 16) & 0xff;
	out[18] = (address >> 8) & 0xff;
	out[19] = address & 0xff;
	return true;
}

/* A prefix string: written as its LPM key when plain IPv4, else listed for the caller. */
static bool prefix(struct reader *r, uint8_t *out, uint32_t offset)
{
	size_t start = r->i + 1, j;
	long n = string_length(r);

	if (n < 0 || (uint32_t)n > r->g->text_max)
		return DECLINE;
	if (ipv4_prefix(r->b + start, (size_t)n, out + offset))
		return true;
	for (j = start; j < start + (size_t)n; j++)
		if (r->b[j] >= 0x80)
			return DECLINE;
	if (r->npending == r->pending_room) {
		uint32_t room = r->pending_room ? r->pending_room * 2 : 64;
		struct pending *p = realloc(r->pending, room * sizeof(*p));

		if (!p)
			return DECLINE;
		r->pending = p;
		r->pending_room = room;
	}
	/* entries() counted its map in before reading it. */
	r->maps[r->nmaps - 1].pending = true;
	r->pending[r->npending++] = (struct pending){ r->nmaps - 1, offset, (uint32_t)start, (uint32_t)n };
	return true;
}

/*
 * The members of a key or value record after its `{`, through its `}`,
 * written at `at` in `base` (a member left out is 0); how many there were, or -1.
 */
static int record(struct reader *r, const struct member *fields, int nfields, bool key, uint8_t *base,
		  uint32_t at, uint16_t size)
{
	int next = 0, written = 0;

	memset(base + at, 0, size);
	if (byte_at(r, r->i) == '}') {
		r->i++;
		return 0;
	}
	for (;;) {
		int index = member_name(r, &fields[0].name, sizeof(struct member), next, nfields);
		const struct member *f;
		int c;

		if (index < 0 || !expect(r, ':'))
			return -1;
		next = index + 1;
		f = &fields[index];
		/* Prefixes are keys only: the caller writes the ones listed into the map's keys. */
		if (f->width == 0 ? !key || !prefix(r, base, at + f->offset) : !integer(r, f, base + at + f->offset))
			return -1;
		written++;
		c = byte_at(r, r->i++);
		if (c == '}')
			return written;
		if (c != ',')
			return -1;
	}
}

/* One map's list of entries, written into its key and value structs back to back. */
static bool entries(struct reader *r, uint32_t grammar)
{
	const struct grammar_map *gm = &r->g->maps[grammar];
	struct out_map *m = &r->maps[r->nmaps];
	/* Room for as many entries as the rest of the body could hold. */
	size_t room = (r->len - r->i) / MIN_ENTRY + 1;

	if (room > r->g->entries_max)
		room = r->g->entries_max;
	m->grammar = grammar;
	m->count = 0;
	m->keys = malloc(room * gm->key_size + 1);
	m->values = malloc(room * gm->value_size + 1);
	r->nmaps++;
	if (!m->keys || !m->values || !expect(r, '['))
		return DECLINE;
	if (byte_at(r, r->i) == ']') {
		r->i++;
		return true;
	}
	for (;;) {
		int c;

		if (m->count == room || !literal(r, "{\"key\":{", 8))
			return DECLINE;
		if (record(r, gm->key, gm->nkey, true, m->keys, m->count * gm->key_size, gm->key_size) != gm->nkey)
			return DECLINE;
		if (byte_at(r, r->i + 2) == 'n') {
			long n;

			if (!literal(r, ",\"note\":", 8))
				return DECLINE;
			n = string_length(r);
			if (n < 0 || (uint32_t)n > r->g->note_max)
				return DECLINE;
		}
		if (!literal(r, ",\"value\":{", 10))
			return DECLINE;
		if (record(r, gm->value, gm->nvalue, false, m->values, m->count * gm->value_size, gm->value_size) < 0)
			return DECLINE;
		if (!expect(r, '}'))
			return DECLINE;
		m->count++;
		c = byte_at(r, r->i++);
		if (c == ']')
			return true;
		if (c != ',')
			return DECLINE;
	}
}

/* FNV-1a, as key-index.ts hashes keys. */
static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 0x811c9dc5;

	while (n--)
		h = (h ^ *p++) * 0x01000193;
	return h;
}

/*
 * The open-addressing table KeyIndex builds over the map's keys (the same
 * length, hash and probing), so the agent need not build it again; none
 * when a key is there twice, whose entries the agent merges itself, or when
 * some keys are not written yet.
 */
static bool index_keys(struct out_map *m, size_t key_size)
{
	uint32_t len = 8, mask, slot, i;

	if (m->pending)
		return true;
	while (len < m->count * 2)
		len *= 2;
	m->index = malloc(len * sizeof(*m->index));
	if (!m->index)
		return false;
	memset(m->index, 0xff, len * sizeof(*m->index));
	m->index_len = len;
	mask = len - 1;
	for (slot = 0; slot < m->count; slot++) {
		const uint8_t *key = m->keys + (size_t)slot * key_size;

		for (i = hash_bytes(key, key_size) & mask; m->index[i] >= 0; i = (i + 1) & mask) {
			if (!memcmp(m->keys + (size_t)m->index[i] * key_size, key, key_size)) {
				free(m->index);
				m->index = NULL;
				return true;
			}
		}
		m->index[i] = (int32_t)slot;
	}
	return true;
}

static bool maps(struct reader *r)
{
	int next = 0;

	if (!expect(r, '{'))
		return DECLINE;
	if (byte_at(r, r->i) == '}') {
		r->i++;
		return true;
	}
	for (;;) {
		int index = member_name(r, &r->g->maps[0].name, sizeof(struct grammar_map), next, r->g->nmaps);
		int c;

		if (index < 0 || !expect(r, ':') || !entries(r, (uint32_t)index) ||
		    !index_keys(&r->maps[r->nmaps - 1], r->g->maps[index].key_size))
			return DECLINE;
		next = index + 1;
		c = byte_at(r, r->i++);
		if (c == '}')
			return true;
		if (c != ',')
			return DECLINE;
	}
}

static void reader_free(struct reader *r)
{
	uint32_t m;

	for (m = 0; m < r->nmaps; m++) {
		free(r->maps[m].keys);
		free(r->maps[m].values);
		free(r->maps[m].index);
	}
	free(r->pending);
}

static napi_value u32(napi_env env, uint32_t v)
{
	napi_value out;

	napi_create_uint32(env, v, &out);
	return out;
}

static napi_value bytes(napi_env env, const uint8_t *data, size_t len)
{
	napi_value out;

	napi_create_buffer_copy(env, len, data, NULL, &out);
	return out;
}

static napi_value int32_array(napi_env env, const int32_t *data, uint32_t len)
{
	napi_value buffer, out;
	void *to;

	if (!data) {
		napi_get_null(env, &out);
		return out;
	}
	napi_create_arraybuffer(env, (size_t)len * sizeof(*data), &to, &buffer);
	memcpy(to, data, (size_t)len * sizeof(*data));
	napi_create_typedarray(env, napi_int32_array, len, buffer, 0, &out);
	return out;
}

/*
 * readCanonicalMaps(body, from, grammar) -> { end, maps: [grammarIndex, count,
 * keys, values, index | null][], pending: [mapIndex, offset, start, length][] }
 * or null.
 */
napi_value fos1_read_canonical_maps(napi_env env, napi_callback_info info)
{
	/* ~80 KiB: kept off the stack. */
	struct grammar *g = malloc(sizeof(*g));
	struct reader r = { 0 };
	size_t argc = 3, glen;
	napi_value argv[3], out, list, pending, result;
	void *body, *gbytes;
	uint32_t from, m;
	bool ok;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (!g) {
		napi_throw_error(env, "ENOMEM", "readCanonicalMaps: out of memory");
		return NULL;
	}
	if (argc < 3 || napi_get_buffer_info(env, argv[0], &body, &r.len) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &from) != napi_ok ||
	    napi_get_buffer_info(env, argv[2], &gbytes, &glen) != napi_ok) {
		free(g);
		napi_throw_type_error(env, NULL, "readCanonicalMaps(body: Buffer, from: number, grammar: Buffer)");
		return NULL;
	}
	if (!grammar_parse(gbytes, glen, g)) {
		free(g);
		napi_throw_error(env, NULL, "readCanonicalMaps: malformed grammar");
		return NULL;
	}
	r.b = body;
	r.i = from;
	r.g = g;
	ok = from <= r.len && maps(&r);
	if (!ok) {
		reader_free(&r);
		free(g);
		napi_get_null(env, &result);
		return result;
	}
	napi_create_array_with_length(env, r.nmaps, &list);
	for (m = 0; m < r.nmaps; m++) {
		const struct out_map *om = &r.maps[m];
		const struct grammar_map *gm = &g->maps[om->grammar];
		napi_value row;

		napi_create_array_with_length(env, 5, &row);
		napi_set_element(env, row, 0, u32(env, om->grammar));
		napi_set_element(env, row, 1, u32(env, om->count));
		napi_set_element(env, row, 2, bytes(env, om->keys, (size_t)om->count * gm->key_size));
		napi_set_element(env, row, 3, bytes(env, om->values, (size_t)om->count * gm->value_size));
		napi_set_element(env, row, 4, int32_array(env, om->index, om->index_len));
		napi_set_element(env, list, m, row);
	}
	napi_create_array_with_length(env, r.npending, &pending);
	for (m = 0; m < r.npending; m++) {
		const struct pending *p = &r.pending[m];
		napi_value row;

		napi_create_array_with_length(env, 4, &row);
		napi_set_element(env, row, 0, u32(env, p->map));
		napi_set_element(env, row, 1, u32(env, p->offset));
		napi_set_element(env, row, 2, u32(env, p->start));
		napi_set_element(env, row, 3, u32(env, p->length));
		napi_set_element(env, pending, m, row);
	}
	napi_create_object(env, &out);
	napi_set_named_property(env, out, "end", u32(env, (uint32_t)r.i));
	napi_set_named_property(env, out, "maps", list);
	napi_set_named_property(env, out, "pending", pending);
	reader_free(&r);
	free(g);
	return out;
}
