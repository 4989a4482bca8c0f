/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sensor's output contract: one compact JSON object per line, keys in a
 * fixed order, flushed at once because the agent reads the stream live.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "sensor.h"

struct line {
	char buf[8192];
	size_t len;
	int overflow;
};

static void put_raw(struct line *l, const char *s, size_t n)
{
	if (l->overflow || l->len + n >= sizeof(l->buf)) {
		l->overflow = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put_cstr(struct line *l, const char *s)
{
	put_raw(l, s, strlen(s));
}

static void put_fmt_u64(struct line *l, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

	put_raw(l, tmp, (size_t)n);
}

static void put_fmt_time(struct line *l, double v)
{
	char tmp[40];
	int n = snprintf(tmp, sizeof(tmp), "%.6f", v);

	put_raw(l, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Names come from the wire (SNI, Host, DNS query): escape them, and replace
 * bytes that are not UTF-8 so every line stays valid JSON. */
static void put_json_string(struct line *l, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	put_raw(l, "\"", 1);
	while (i < n) {
		size_t seq = utf8_seq_len(p + i, n - i);
		char esc[8];

		if (seq == 0) {
			put_cstr(l, "\\ufffd");
			i++;
		} else if (seq > 1) {
			put_raw(l, (const char *)p + i, seq);
			i += seq;
		} else if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			put_raw(l, esc, 2);
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			put_raw(l, esc, 6);
			i++;
		} else {
			put_raw(l, (const char *)p + i, 1);
			i++;
		}
	}
	put_raw(l, "\"", 1);
}

static void put_key(struct line *l, const char *key)
{
	put_raw(l, ",\"", 2);
	put_cstr(l, key);
	put_raw(l, "\":", 2);
}

static void put_addr(struct line *l, uint8_t ip_version, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, addr, text, sizeof(text)) == NULL)
		text[0] = '\0';
	put_json_string(l, text);
}

static void put_l4_proto(struct line *l, uint8_t proto)
{
	char num[8];

	switch (proto) {
	case IPPROTO_TCP:
		put_cstr(l, "\"TCP\"");
		return;
	case IPPROTO_UDP:
		put_cstr(l, "\"UDP\"");
		return;
	case IPPROTO_ICMP:
		put_cstr(l, "\"ICMP\"");
		return;
	case IPPROTO_ICMPV6:
		put_cstr(l, "\"ICMPV6\"");
		return;
	default:
		snprintf(num, sizeof(num), "\"%u\"", proto);
		put_cstr(l, num);
	}
}

static void put_risks(struct line *l, ndpi_risk risk)
{
	int i, first = 1;

	put_raw(l, "[", 1);
	for (i = 0; i < NDPI_MAX_RISK; i++) {
		if (!NDPI_ISSET_BIT(risk, i))
			continue;
		if (!first)
			put_raw(l, ",", 1);
		put_json_string(l, ndpi_risk2str((ndpi_risk_enum)i));
		first = 0;
	}
	put_raw(l, "]", 1);
}

int emit_flow_event(FILE *out, struct ndpi_detection_module_struct *ndpi, enum flow_event event,
		    const struct flow *f, double ts)
{
	const struct classification *c = &f->result;
	struct line l = {.len = 0, .overflow = 0};
	char app[128];

	ndpi_protocol2name(ndpi, c->proto, app, sizeof(app));

	put_cstr(&l, event == FLOW_EVENT_CLASSIFIED ? "{\"event\":\"classified\"" : "{\"event\":\"end\"");
	put_key(&l, "ts");
	put_fmt_time(&l, ts);
	put_key(&l, "flow_id");
	put_fmt_u64(&l, f->id);
	put_key(&l, "ip_version");
	put_fmt_u64(&l, f->key.ip_version);
	put_key(&l, "proto");
	put_l4_proto(&l, f->key.l4_proto);
	if (f->key.vlan_tagged) {
		put_key(&l, "vlan");
		put_fmt_u64(&l, f->key.vlan_id);
	}
	put_key(&l, "src_ip");
	put_addr(&l, f->key.ip_version, f->src);
	put_key(&l, "src_port");
	put_fmt_u64(&l, f->sport);
	put_key(&l, "dst_ip");
	put_addr(&l, f->key.ip_version, f->dst);
	put_key(&l, "dst_port");
	put_fmt_u64(&l, f->dport);
	put_key(&l, "app");
	put_json_string(&l, app);
	put_key(&l, "master");
	put_json_string(&l, ndpi_get_proto_name(ndpi, c->proto.master_protocol));
	put_key(&l, "app_name");
	put_json_string(&l, ndpi_get_proto_name(ndpi, c->proto.app_protocol));
	put_key(&l, "category");
	put_json_string(&l, ndpi_category_get_name(ndpi, c->proto.category));
	put_key(&l, "confidence");
	put_json_string(&l, ndpi_confidence_get_name(c->confidence));
	put_key(&l, "host");
	put_json_string(&l, c->host);
	put_key(&l, "c2s_packets");
	put_fmt_u64(&l, f->c2s_packets);
	put_key(&l, "c2s_bytes");
	put_fmt_u64(&l, f->c2s_bytes);
	put_key(&l, "s2c_packets");
	put_fmt_u64(&l, f->s2c_packets);
	put_key(&l, "s2c_bytes");
	put_fmt_u64(&l, f->s2c_bytes);
	put_key(&l, "first_seen");
	put_fmt_time(&l, f->first_seen);
	put_key(&l, "last_seen");
	put_fmt_time(&l, f->last_seen);
	put_key(&l, "risk");
	put_risks(&l, c->risk);
	put_raw(&l, "}\n", 2);

	/* Sized for every risk name plus a fully escaped host; never print a cut line. */
	if (l.overflow) {
		fprintf(stderr, SENSOR_NAME ": line for flow %" PRIu64 " exceeds %zu bytes, not printed\n", f->id,
			sizeof(l.buf));
		return 0;
	}
	if (fwrite(l.buf, 1, l.len, out) != l.len || fflush(out) != 0)
		return -1;
	return 0;
}
