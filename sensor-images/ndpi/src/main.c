/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fos1-ndpi-sensor: classifies flows with nDPI from a pcap file (-r) or a
 * live interface (-i) and prints one JSON line per classified flow and one
 * per ended flow on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "sensor.h"

#define LIVE_SNAPLEN 65535
#define LIVE_TIMEOUT_MS 100 /* buffer timeout; immediate mode hands packets over at once anyway */
#define LIVE_POLL_MS 200 /* how often idle flows are checked when no packet arrives */
#define LIVE_BUFFER_BYTES (32 * 1024 * 1024)

struct options {
	const char *pcap_file;
	const char *iface;
	const char *bpf_filter;
	size_t max_flows;
	double timeouts[FLOW_LIST_COUNT];
};

struct capture_stats {
	uint64_t packets, not_ip, truncated, malformed, fragments;
};

struct sensor {
	pcap_t *pcap;
	int linktype;
	struct tracker tracker;
	struct capture_stats stats;
};

static pcap_t *volatile signalled_pcap;
static volatile sig_atomic_t stop_requested;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: " SENSOR_NAME " (-r PCAP | -i IFACE) [options]\n"
		"  -r PCAP                    read packets from a pcap/pcapng file\n"
		"  -i IFACE                   capture live on an interface (e.g. the mirror port)\n"
		"  --bpf-filter EXPR          only look at packets matching this BPF expression\n"
		"  --max-flows N              flows tracked at once; the least recently seen is ended\n"
		"                             when full (default %u)\n"
		"  --idle-timeout SEC         idle timeout for every protocol (overrides the three below)\n"
		"  --tcp-idle-timeout SEC     default %.0f\n"
		"  --udp-idle-timeout SEC     default %.0f\n"
		"  --other-idle-timeout SEC   default %.0f\n"
		"  --close-linger SEC         how long a closed TCP flow (FIN both ways or RST) absorbs\n"
		"                             late packets before it ends (default %.0f)\n"
		"  -h, --help                 this help\n"
		"Prints one JSON object per line: \"classified\" when nDPI has decided or given up,\n"
		"\"end\" when the flow ends (close, idle timeout, eviction, end of capture).\n",
		DEFAULT_MAX_FLOWS, DEFAULT_TCP_IDLE_TIMEOUT, DEFAULT_UDP_IDLE_TIMEOUT, DEFAULT_OTHER_IDLE_TIMEOUT,
		DEFAULT_CLOSE_LINGER);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, SENSOR_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see " SENSOR_NAME " --help)\n");
	exit(2);
}

static double parse_seconds(const char *opt, const char *text)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v <= 0 || v > 31536000)
		die_usage("%s: expected seconds greater than 0 and at most 31536000, got '%s'", opt, text);
	return v;
}

static size_t parse_max_flows(const char *text)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < 1 || v > MAX_MAX_FLOWS)
		die_usage("--max-flows: expected an integer from 1 to %u, got '%s'", MAX_MAX_FLOWS, text);
	return (size_t)v;
}

enum long_only_option {
	OPT_BPF_FILTER = 256,
	OPT_MAX_FLOWS,
	OPT_IDLE_TIMEOUT,
	OPT_TCP_IDLE_TIMEOUT,
	OPT_UDP_IDLE_TIMEOUT,
	OPT_OTHER_IDLE_TIMEOUT,
	OPT_CLOSE_LINGER,
};

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"bpf-filter", required_argument, NULL, OPT_BPF_FILTER},
		{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
		{"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
		{"tcp-idle-timeout", required_argument, NULL, OPT_TCP_IDLE_TIMEOUT},
		{"udp-idle-timeout", required_argument, NULL, OPT_UDP_IDLE_TIMEOUT},
		{"other-idle-timeout", required_argument, NULL, OPT_OTHER_IDLE_TIMEOUT},
		{"close-linger", required_argument, NULL, OPT_CLOSE_LINGER},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double all_idle = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->max_flows = DEFAULT_MAX_FLOWS;
	o->timeouts[FLOW_LIST_TCP] = DEFAULT_TCP_IDLE_TIMEOUT;
	o->timeouts[FLOW_LIST_UDP] = DEFAULT_UDP_IDLE_TIMEOUT;
	o->timeouts[FLOW_LIST_OTHER] = DEFAULT_OTHER_IDLE_TIMEOUT;
	o->timeouts[FLOW_LIST_CLOSING] = DEFAULT_CLOSE_LINGER;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->pcap_file = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case OPT_BPF_FILTER:
			o->bpf_filter = optarg;
			break;
		case OPT_MAX_FLOWS:
			o->max_flows = parse_max_flows(optarg);
			break;
		case OPT_IDLE_TIMEOUT:
			all_idle = parse_seconds("--idle-timeout", optarg);
			break;
		case OPT_TCP_IDLE_TIMEOUT:
			o->timeouts[FLOW_LIST_TCP] = parse_seconds("--tcp-idle-timeout", optarg);
			break;
		case OPT_UDP_IDLE_TIMEOUT:
			o->timeouts[FLOW_LIST_UDP] = parse_seconds("--udp-idle-timeout", optarg);
			break;
		case OPT_OTHER_IDLE_TIMEOUT:
			o->timeouts[FLOW_LIST_OTHER] = parse_seconds("--other-idle-timeout", optarg);
			break;
		case OPT_CLOSE_LINGER:
			o->timeouts[FLOW_LIST_CLOSING] = parse_seconds("--close-linger", optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			die_usage("%s: missing value", argv[optind - 1]);
		default:
			die_usage("%s: unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("%s: unexpected argument", argv[optind]);
	if ((o->pcap_file == NULL) == (o->iface == NULL))
		die_usage("give exactly one of -r PCAP or -i IFACE");
	if (all_idle > 0)
		o->timeouts[FLOW_LIST_TCP] = o->timeouts[FLOW_LIST_UDP] = o->timeouts[FLOW_LIST_OTHER] = all_idle;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, SENSOR_NAME ": %s: %s\n", what, detail);
	exit(1);
}

static pcap_t *open_live(const char *iface)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_create(iface, errbuf);
	int rc;

	if (p == NULL)
		die(iface, errbuf);
	pcap_set_snaplen(p, LIVE_SNAPLEN);
	pcap_set_promisc(p, 1);
	pcap_set_timeout(p, LIVE_TIMEOUT_MS);
	/* Deliver each packet at once: the agent acts on classifications within milliseconds. */
	pcap_set_immediate_mode(p, 1);
	pcap_set_buffer_size(p, LIVE_BUFFER_BYTES);
	rc = pcap_activate(p);
	if (rc < 0) {
		const char *msg = rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc);
		char copy[PCAP_ERRBUF_SIZE + 64];

		snprintf(copy, sizeof(copy), "cannot capture: %s", msg);
		pcap_close(p);
		die(iface, copy);
	}
	if (rc > 0)
		fprintf(stderr, SENSOR_NAME ": %s: warning: %s\n", iface, pcap_statustostr(rc));
	if (pcap_setnonblock(p, 1, errbuf) != 0)
		die(iface, errbuf);
	return p;
}

static void apply_filter(pcap_t *p, const char *expr)
{
	struct bpf_program prog;

	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
		die("--bpf-filter", pcap_geterr(p));
	if (pcap_setfilter(p, &prog) != 0) {
		pcap_freecode(&prog);
		die("--bpf-filter", pcap_geterr(p));
	}
	pcap_freecode(&prog);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *hdr, const u_char *bytes)
{
	struct sensor *s = (struct sensor *)user;
	struct packet_info pi;
	double ts = (double)hdr->ts.tv_sec + (double)hdr->ts.tv_usec / 1e6;
	uint64_t time_ms = (uint64_t)hdr->ts.tv_sec * 1000 + (uint64_t)hdr->ts.tv_usec / 1000;

	s->stats.packets++;
	switch (decode_packet(s->linktype, hdr, bytes, &pi)) {
	case DECODE_OK:
		tracker_packet(&s->tracker, &pi, ts, time_ms);
		if (s->tracker.output_failed)
			pcap_breakloop(s->pcap);
		return;
	case DECODE_NOT_IP:
		s->stats.not_ip++;
		return;
	case DECODE_TRUNCATED:
		s->stats.truncated++;
		return;
	case DECODE_MALFORMED:
		s->stats.malformed++;
		return;
	case DECODE_FRAGMENT:
		s->stats.fragments++;
		return;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (signalled_pcap != NULL)
		pcap_breakloop(signalled_pcap);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed stdout must surface as a write error, not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
}

static double wall_clock(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int run_live(struct sensor *s)
{
	struct pollfd pfd = {.fd = pcap_get_selectable_fd(s->pcap), .events = POLLIN};

	if (pfd.fd < 0) {
		fprintf(stderr, SENSOR_NAME ": capture handle cannot be polled\n");
		return -1;
	}
	while (!stop_requested && !s->tracker.output_failed) {
		int n = pcap_dispatch(s->pcap, -1, on_packet, (u_char *)s);

		if (n == PCAP_ERROR) {
			fprintf(stderr, SENSOR_NAME ": capture failed: %s\n", pcap_geterr(s->pcap));
			return -1;
		}
		/* Non-blocking handle: wait here, bounded, so idle flows end on time without traffic. */
		if (n == 0 && poll(&pfd, 1, LIVE_POLL_MS) < 0 && errno != EINTR) {
			fprintf(stderr, SENSOR_NAME ": waiting for packets failed: %s\n", strerror(errno));
			return -1;
		}
		tracker_expire(&s->tracker, wall_clock());
	}
	tracker_expire(&s->tracker, wall_clock());
	return 0;
}

static int run_offline(struct sensor *s)
{
	if (pcap_loop(s->pcap, -1, on_packet, (u_char *)s) == PCAP_ERROR) {
		fprintf(stderr, SENSOR_NAME ": reading the capture failed: %s\n", pcap_geterr(s->pcap));
		return -1;
	}
	return 0;
}

static void report_stats(const struct sensor *s, int live)
{
	struct pcap_stat ps;

	fprintf(stderr,
		SENSOR_NAME ": packets=%" PRIu64 " flows=%" PRIu64 " evicted=%" PRIu64 " not_ip=%" PRIu64
			    " truncated=%" PRIu64 " malformed=%" PRIu64 " fragments=%" PRIu64 " no_memory=%" PRIu64,
		s->stats.packets, s->tracker.stats.flows, s->tracker.stats.evicted, s->stats.not_ip,
		s->stats.truncated, s->stats.malformed, s->stats.fragments, s->tracker.stats.no_memory);
	if (live && pcap_stats(s->pcap, &ps) == 0)
		fprintf(stderr, " kernel_dropped=%u", ps.ps_drop);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct options o;
	struct sensor s;
	int rc;

	parse_options(argc, argv, &o);
	memset(&s, 0, sizeof(s));

	if (o.pcap_file != NULL) {
		s.pcap = pcap_open_offline_with_tstamp_precision(o.pcap_file, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
		if (s.pcap == NULL)
			die(o.pcap_file, errbuf);
	} else {
		s.pcap = open_live(o.iface);
	}
	s.linktype = pcap_datalink(s.pcap);
	if (!decode_linktype_supported(s.linktype)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "unsupported link type %s (%d)", pcap_datalink_val_to_name(s.linktype),
			 s.linktype);
		die(o.pcap_file != NULL ? o.pcap_file : o.iface, msg);
	}
	if (o.bpf_filter != NULL)
		apply_filter(s.pcap, o.bpf_filter);
	if (tracker_init(&s.tracker, o.max_flows, o.timeouts, stdout) != 0)
		die("nDPI", "cannot initialise the detection module or the flow table (out of memory?)");

	signalled_pcap = s.pcap;
	install_signals();
	if (o.iface != NULL)
		fprintf(stderr, SENSOR_NAME ": capturing on %s (link type %s)\n", o.iface,
			pcap_datalink_val_to_name(s.linktype));
	rc = o.iface != NULL ? run_live(&s) : run_offline(&s);
	tracker_drain(&s.tracker);

	if (s.tracker.output_failed) {
		fprintf(stderr, SENSOR_NAME ": writing to stdout failed: %s\n", strerror(s.tracker.output_errno));
		rc = -1;
	}
	report_stats(&s, o.iface != NULL);
	signalled_pcap = NULL;
	tracker_free(&s.tracker);
	pcap_close(s.pcap);
	return rc == 0 ? 0 : 1;
}
