// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fos1_bpf: the agent's native access to the kernel's eBPF objects through
 * libbpf. One process-wide module with synchronous calls: pinned map access
 * in batches (one syscall per batch instead of one bpftool process per
 * entry), read-modify-write of flow entries, loading the data-plane objects
 * and attaching their programs with tc clsact, and test runs of the pinned
 * programs (what the data plane would do with a packet, for benchmarks and
 * self-checks). canonical_maps.c adds the reader of a PUT body's policy maps.
 *
 * Every call throws a JS Error whose `code` is the errno name and whose
 * message names the operation, so the TypeScript side reports the map and
 * path. Keys and values cross as Node Buffers of count * size bytes.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <net/if.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "canonical_maps.h"
#include "objects.h"

/* The kernel's ENOTSUPP (not in user-space errno.h): a map type without batch operations. */
#define KERNEL_ENOTSUPP 524
#define DUMP_CHUNK 4096

static int throw_errno(napi_env env, const char *what, int err)
{
	char msg[512];
	const char *name = err == KERNEL_ENOTSUPP ? "ENOTSUPP" : strerrorname_np(err);

	snprintf(msg, sizeof(msg), "%s: %s", what, err == KERNEL_ENOTSUPP ? "operation not supported" : strerror(err));
	napi_throw_error(env, name ? name : "EIO", msg);
	return -1;
}

static int arg_u32(napi_env env, napi_value v, __u32 *out)
{
	if (napi_get_value_uint32(env, v, out) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected an unsigned integer");
		return -1;
	}
	return 0;
}

static int arg_string(napi_env env, napi_value v, char *buf, size_t len)
{
	size_t n;

	if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok || n >= len - 1) {
		napi_throw_type_error(env, NULL, "expected a string shorter than PATH_MAX");
		return -1;
	}
	return 0;
}

static int arg_buffer(napi_env env, napi_value v, void **data, size_t *len)
{
	if (napi_get_buffer_info(env, v, data, len) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a Buffer");
		return -1;
	}
	return 0;
}

static napi_value u32_value(napi_env env, __u32 v)
{
	napi_value out;

	napi_create_uint32(env, v, &out);
	return out;
}

static void set_u32(napi_env env, napi_value obj, const char *name, __u32 v)
{
	napi_set_named_property(env, obj, name, u32_value(env, v));
}

static void set_string(napi_env env, napi_value obj, const char *name, const char *v)
{
	napi_value s;

	napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
	napi_set_named_property(env, obj, name, s);
}

static napi_value copy_buffer(napi_env env, const void *data, size_t len)
{
	napi_value out;
	void *unused;

	napi_create_buffer_copy(env, len, data, &unused, &out);
	return out;
}

/* Parses (fd, keys[, values], count) and checks the buffers hold count keys (and values) of the map's sizes. */
struct batch_args {
	int fd;
	__u32 count;
	char *keys;
	char *values;
	__u32 key_size;
	__u32 value_size;
};

/* Fills in the map's key and value sizes and checks the buffers hold exactly count of them. */
static int map_sizes(napi_env env, struct batch_args *a, size_t klen, size_t vlen, int with_values)
{
	struct bpf_map_info mi = {};
	__u32 mi_len = sizeof(mi);

	if (bpf_obj_get_info_by_fd(a->fd, &mi, &mi_len))
		return throw_errno(env, "map info", errno);
	a->key_size = mi.key_size;
	a->value_size = mi.value_size;
	if (klen != (size_t)a->count * mi.key_size || (with_values && vlen != (size_t)a->count * mi.value_size)) {
		napi_throw_range_error(env, NULL, "buffers do not hold count keys/values of the map's sizes");
		return -1;
	}
	return 0;
}

static int batch_args(napi_env env, napi_callback_info info, struct batch_args *a, int with_values)
{
	__u32 fd;
	size_t argc = 4, klen, vlen = 0;
	napi_value argv[4];

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < (size_t)(with_values ? 4 : 3)) {
		napi_throw_type_error(env, NULL, "missing arguments");
		return -1;
	}
	if (arg_u32(env, argv[0], &fd) || arg_buffer(env, argv[1], (void **)&a->keys, &klen))
		return -1;
	if (with_values && arg_buffer(env, argv[2], (void **)&a->values, &vlen))
		return -1;
	if (arg_u32(env, argv[with_values ? 3 : 2], &a->count))
		return -1;
	a->fd = (int)fd;
	return map_sizes(env, a, klen, vlen, with_values);
}

static int unsupported(int err)
{
	return err == KERNEL_ENOTSUPP || err == EOPNOTSUPP || err == EINVAL;
}

/* objGet(path) -> fd of a pinned map or program. */
static napi_value obj_get(napi_env env, napi_callback_info info)
{
	char path[PATH_MAX];
	size_t argc = 1;
	napi_value argv[1];
	int fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || arg_string(env, argv[0], path, sizeof(path)))
		return NULL;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		char what[PATH_MAX + 16];

		snprintf(what, sizeof(what), "bpf_obj_get %s", path);
		throw_errno(env, what, errno);
		return NULL;
	}
	return u32_value(env, (__u32)fd);
}

/* close(fd) */
static napi_value close_fd(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	__u32 fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || arg_u32(env, argv[0], &fd))
		return NULL;
	close((int)fd);
	return NULL;
}

/* mapInfo(fd) -> { id, type, keySize, valueSize, maxEntries, name, possibleCpus } */
static napi_value map_info(napi_env env, napi_callback_info info)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), fd;
	size_t argc = 1;
	napi_value argv[1], out;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || arg_u32(env, argv[0], &fd))
		return NULL;
	if (bpf_obj_get_info_by_fd((int)fd, &mi, &len)) {
		throw_errno(env, "map info", errno);
		return NULL;
	}
	napi_create_object(env, &out);
	set_u32(env, out, "id", mi.id);
	set_u32(env, out, "type", mi.type);
	set_u32(env, out, "keySize", mi.key_size);
	set_u32(env, out, "valueSize", mi.value_size);
	set_u32(env, out, "maxEntries", mi.max_entries);
	set_string(env, out, "name", mi.name);
	set_u32(env, out, "possibleCpus", (__u32)libbpf_num_possible_cpus());
	return out;
}

/* progInfo(fd) -> { id, name } */
static napi_value prog_info(napi_env env, napi_callback_info info)
{
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi), fd;
	size_t argc = 1;
	napi_value argv[1], out;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || arg_u32(env, argv[0], &fd))
		return NULL;
	if (bpf_obj_get_info_by_fd((int)fd, &pi, &len)) {
		throw_errno(env, "program info", errno);
		return NULL;
	}
	napi_create_object(env, &out);
	set_u32(env, out, "id", pi.id);
	set_string(env, out, "name", pi.name);
	return out;
}

/*
 * Writes count entries: one BPF_MAP_UPDATE_BATCH syscall where the map type
 * has it, else one update per entry (LPM tries). Returns 0 or the errno, and
 * names the failed operation in *what. Makes no N-API call, so it can run
 * on any thread.
 */
static int write_entries(const struct batch_args *a, __u32 flags, const char **what)
{
	__u32 done, i;

	if (a->count == 0)
		return 0;
	{
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);

		done = a->count;
		if (!bpf_map_update_batch(a->fd, a->keys, a->values, &done, &opts))
			return 0;
		/* The kernel leaves count as given when it refused the batch before writing anything. */
		if (!unsupported(errno) || (done != 0 && done != a->count)) {
			*what = "map update batch";
			return errno;
		}
	}
	for (i = 0; i < a->count; i++) {
		if (bpf_map_update_elem(a->fd, a->keys + (size_t)i * a->key_size,
					a->values + (size_t)i * a->value_size, flags)) {
			*what = "map update";
			return errno;
		}
	}
	return 0;
}

/* updateBatch(fd, keys, values, count, flags) -> count written. */
static napi_value update_batch(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5];
	struct batch_args a;
	const char *what = NULL;
	__u32 flags = 0;
	int err;

	if (batch_args(env, info, &a, 1))
		return NULL;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc >= 5 && arg_u32(env, argv[4], &flags))
		return NULL;
	err = write_entries(&a, flags, &what);
	if (err) {
		throw_errno(env, what, err);
		return NULL;
	}
	return u32_value(env, a.count);
}

#define MAX_PARALLEL_MAPS 16

struct parallel_writes {
	struct batch_args maps[MAX_PARALLEL_MAPS];
	int errs[MAX_PARALLEL_MAPS];
	const char *whats[MAX_PARALLEL_MAPS];
	__u32 n;
	__u32 flags;
	__u32 next;
};

static void *write_some(void *arg)
{
	struct parallel_writes *w = arg;
	__u32 i;

	while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->n)
		w->errs[i] = write_entries(&w->maps[i], w->flags, &w->whats[i]);
	return NULL;
}

/*
 * updateBatches([[fd, keys, values, count], ...], flags) -> count written.
 * Writes several maps at once, one map per thread at a time on as many
 * threads as there are CPUs: a map's entries go in as updateBatch writes
 * them, but LPM tries take one syscall per entry, and tries of different
 * maps do not share a lock. Returns when every map is written; a failure
 * throws for the first failed map, with its index in `failedAt`, the others
 * written or not.
 */
static napi_value update_batches(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], item, field, error, at;
	struct parallel_writes w = {};
	pthread_t threads[MAX_PARALLEL_MAPS];
	__u32 len, i, total = 0, spawned = 0, want;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	bool is_array;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
		napi_throw_type_error(env, NULL, "expected an array of [fd, keys, values, count]");
		return NULL;
	}
	napi_get_array_length(env, argv[0], &len);
	if (len > MAX_PARALLEL_MAPS) {
		napi_throw_range_error(env, NULL, "too many maps in one call");
		return NULL;
	}
	if (argc >= 2 && arg_u32(env, argv[1], &w.flags))
		return NULL;
	for (i = 0; i < len; i++) {
		struct batch_args *a = &w.maps[i];
		size_t klen, vlen;
		__u32 fd;

		napi_get_element(env, argv[0], i, &item);
		napi_get_element(env, item, 0, &field);
		if (arg_u32(env, field, &fd))
			return NULL;
		napi_get_element(env, item, 1, &field);
		if (arg_buffer(env, field, (void **)&a->keys, &klen))
			return NULL;
		napi_get_element(env, item, 2, &field);
		if (arg_buffer(env, field, (void **)&a->values, &vlen))
			return NULL;
		napi_get_element(env, item, 3, &field);
		if (arg_u32(env, field, &a->count))
			return NULL;
		a->fd = (int)fd;
		if (map_sizes(env, a, klen, vlen, 1))
			return NULL;
		total += a->count;
	}
	w.n = len;
	want = cpus > 1 ? (__u32)cpus : 1;
	if (want > len)
		want = len;
	/* This thread writes too; a thread that cannot start leaves its share to the others. */
	for (i = 1; i < want; i++) {
		if (pthread_create(&threads[spawned], NULL, write_some, &w))
			break;
		spawned++;
	}
	write_some(&w);
	for (i = 0; i < spawned; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < len; i++) {
		if (!w.errs[i])
			continue;
		throw_errno(env, w.whats[i], w.errs[i]);
		napi_get_and_clear_last_exception(env, &error);
		napi_create_uint32(env, i, &at);
		napi_set_named_property(env, error, "failedAt", at);
		napi_throw(env, error);
		return NULL;
	}
	return u32_value(env, total);
}

/* deleteBatch(fd, keys, count) -> count deleted; keys already absent are not an error. */
static napi_value delete_batch(napi_env env, napi_callback_info info)
{
	struct batch_args a;
	__u32 deleted = 0, done, i;

	if (batch_args(env, info, &a, 0))
		return NULL;
	if (a.count == 0)
		return u32_value(env, 0);
	{
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		done = a.count;
		if (!bpf_map_delete_batch(a.fd, a.keys, &done, &opts))
			return u32_value(env, a.count);
		/* A missing key stops the batch part-way: finish one by one from there. */
		if (!unsupported(errno) && errno != ENOENT) {
			throw_errno(env, "map delete batch", errno);
			return NULL;
		}
		deleted = errno == ENOENT && done != a.count ? done : 0;
	}
	for (i = deleted; i < a.count; i++) {
		if (!bpf_map_delete_elem(a.fd, a.keys + (size_t)i * a.key_size))
			deleted++;
		else if (errno != ENOENT) {
			throw_errno(env, "map delete", errno);
			return NULL;
		}
	}
	return u32_value(env, deleted);
}

/* lookup(fd, key) -> value Buffer, or null when the key is absent (per-CPU maps: one value per possible CPU). */
static napi_value lookup(napi_env env, napi_callback_info info)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), fd;
	size_t argc = 2, klen, vsize;
	napi_value argv[2], out;
	void *key, *value;
	int ncpu;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || arg_u32(env, argv[0], &fd) || arg_buffer(env, argv[1], &key, &klen))
		return NULL;
	if (bpf_obj_get_info_by_fd((int)fd, &mi, &len)) {
		throw_errno(env, "map info", errno);
		return NULL;
	}
	if (klen != mi.key_size) {
		napi_throw_range_error(env, NULL, "key is not of the map's key size");
		return NULL;
	}
	ncpu = mi.type == BPF_MAP_TYPE_PERCPU_ARRAY || mi.type == BPF_MAP_TYPE_PERCPU_HASH ||
			       mi.type == BPF_MAP_TYPE_LRU_PERCPU_HASH
		       ? libbpf_num_possible_cpus()
		       : 1;
	vsize = ncpu > 1 ? (size_t)((mi.value_size + 7) & ~7U) * ncpu : mi.value_size;
	napi_create_buffer(env, vsize, &value, &out);
	if (bpf_map_lookup_elem((int)fd, key, value)) {
		if (errno == ENOENT) {
			napi_get_null(env, &out);
			return out;
		}
		throw_errno(env, "map lookup", errno);
		return NULL;
	}
	return out;
}

struct dump {
	char *keys;
	char *values;
	size_t count;
	size_t cap;
};

static int dump_grow(struct dump *d, size_t need, __u32 ks, __u32 vs)
{
	char *k, *v;
	size_t cap = d->cap ? d->cap : DUMP_CHUNK;

	if (need <= d->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	k = realloc(d->keys, cap * ks);
	if (!k)
		return -1;
	d->keys = k;
	v = realloc(d->values, cap * vs);
	if (!v)
		return -1;
	d->values = v;
	d->cap = cap;
	return 0;
}

/*
 * Walks the map with get_next_key + lookup, for types without batch lookup
 * (LPM tries). A key deleted under the walk restarts it at the first key, so
 * the walk is bounded by twice the capacity.
 */
static int dump_iterate(int fd, struct dump *d, __u32 ks, __u32 vs, __u32 max_entries)
{
	char *cursor = malloc((size_t)ks * 2), *prev = NULL, *next;
	__u64 steps = 2ULL * max_entries + 1;
	int err = 0;

	if (!cursor)
		return -ENOMEM;
	next = cursor;
	while (steps--) {
		if (bpf_map_get_next_key(fd, prev, next)) {
			err = errno == ENOENT ? 0 : -errno;
			break;
		}
		if (dump_grow(d, d->count + 1, ks, vs)) {
			err = -ENOMEM;
			break;
		}
		if (!bpf_map_lookup_elem(fd, next, d->values + d->count * vs)) {
			memcpy(d->keys + d->count * ks, next, ks);
			d->count++;
		} else if (errno != ENOENT) {
			err = -errno;
			break;
		}
		prev = next;
		next = next == cursor ? cursor + ks : cursor;
	}
	free(cursor);
	return err;
}

/* Batched lookup; the cursor is a bucket index for hash maps and a key for the generic (array) walk. */
static int dump_batched(int fd, struct dump *d, __u32 ks, __u32 vs)
{
	size_t cursor_size = ks > 8 ? ks : 8;
	char *in = calloc(2, cursor_size), *out;
	void *in_batch = NULL;
	__u32 n;
	int err = 0;

	if (!in)
		return -ENOMEM;
	out = in + cursor_size;
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		if (dump_grow(d, d->count + DUMP_CHUNK, ks, vs)) {
			err = -ENOMEM;
			break;
		}
		n = DUMP_CHUNK;
		if (bpf_map_lookup_batch(fd, in_batch, out, d->keys + d->count * ks, d->values + d->count * vs, &n,
					 &opts)) {
			if (errno == ENOENT)
				d->count += n;
			else
				err = -errno;
			break;
		}
		d->count += n;
		memcpy(in, out, cursor_size);
		in_batch = in;
	}
	free(in);
	return err;
}

/* dump(fd) -> { keys, values, count } of every entry; per-CPU values come as one slot per possible CPU. */
static napi_value dump(napi_env env, napi_callback_info info)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), fd, vs;
	struct dump d = {};
	size_t argc = 1;
	napi_value argv[1], out;
	int err, percpu;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || arg_u32(env, argv[0], &fd))
		return NULL;
	if (bpf_obj_get_info_by_fd((int)fd, &mi, &len)) {
		throw_errno(env, "map info", errno);
		return NULL;
	}
	percpu = mi.type == BPF_MAP_TYPE_PERCPU_ARRAY || mi.type == BPF_MAP_TYPE_PERCPU_HASH ||
		 mi.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	vs = percpu ? ((mi.value_size + 7) & ~7U) * (__u32)libbpf_num_possible_cpus() : mi.value_size;
	err = dump_batched((int)fd, &d, mi.key_size, vs);
	if (err && unsupported(-err) && d.count == 0)
		err = dump_iterate((int)fd, &d, mi.key_size, vs, mi.max_entries);
	if (err) {
		free(d.keys);
		free(d.values);
		throw_errno(env, "map dump", -err);
		return NULL;
	}
	napi_create_object(env, &out);
	napi_set_named_property(env, out, "keys", copy_buffer(env, d.keys, d.count * mi.key_size));
	napi_set_named_property(env, out, "values", copy_buffer(env, d.values, d.count * vs));
	set_u32(env, out, "count", (__u32)d.count);
	free(d.keys);
	free(d.values);
	return out;
}

/* Entries read, patched and written back per batch: the window a program's own update can be lost in. */
#define RMW_CHUNK 256

/*
 * Writes the n patched entries of a chunk back (BPF_EXIST, so an entry
 * evicted since it was read is not re-created): one batch syscall, resumed
 * past an entry that vanished; one update each where batches are missing.
 * Clears found[] of entries that vanished. Returns 0 or -errno.
 */
static int rmw_write(int fd, char *keys, char *values, __u32 n, __u32 ks, __u32 vs, unsigned char **found)
{
	__u32 at = 0, done;

	while (at < n) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_EXIST);

		done = n - at;
		if (!bpf_map_update_batch(fd, keys + (size_t)at * ks, values + (size_t)at * vs, &done, &opts))
			return 0;
		if (errno == ENOENT) {
			*found[at + done] = 0;
			at += done + 1;
			continue;
		}
		if (!unsupported(errno) || (done != 0 && done != n - at))
			return -errno;
		for (; at < n; at++) {
			if (bpf_map_update_elem(fd, keys + (size_t)at * ks, values + (size_t)at * vs, BPF_EXIST)) {
				if (errno != ENOENT)
					return -errno;
				*found[at] = 0;
			}
		}
	}
	return 0;
}

/*
 * rmw(fd, keys, patches, count, mask) -> Buffer of count bytes, 1 where the
 * entry existed and was rewritten. Each entry becomes (old & ~mask) |
 * (patch & mask). Entries are read one by one and written back a chunk at a
 * time, so what the programs change meanwhile (counters, caches) can be lost
 * only within one chunk's few hundred microseconds, and a vanished entry is
 * never re-created.
 */
static napi_value rmw(napi_env env, napi_callback_info info)
{
	unsigned char *mask, *found, *slots[RMW_CHUNK];
	size_t argc = 5, mlen;
	napi_value argv[5], out;
	struct batch_args a;
	char *keys, *values;
	__u32 i, j, n, base;
	int err;

	if (batch_args(env, info, &a, 1))
		return NULL;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 5 || arg_buffer(env, argv[4], (void **)&mask, &mlen))
		return NULL;
	if (mlen != a.value_size) {
		napi_throw_range_error(env, NULL, "mask is not of the map's value size");
		return NULL;
	}
	keys = malloc((size_t)RMW_CHUNK * a.key_size);
	values = malloc((size_t)RMW_CHUNK * a.value_size);
	if (!keys || !values) {
		free(keys);
		free(values);
		throw_errno(env, "rmw", ENOMEM);
		return NULL;
	}
	napi_create_buffer(env, a.count ? a.count : 1, (void **)&found, &out);
	memset(found, 0, a.count ? a.count : 1);
	for (base = 0; base < a.count; base += RMW_CHUNK) {
		n = 0;
		for (i = base; i < a.count && i < base + RMW_CHUNK; i++) {
			const unsigned char *patch = (const unsigned char *)a.values + (size_t)i * a.value_size;
			char *key = keys + (size_t)n * a.key_size, *value = values + (size_t)n * a.value_size;

			memcpy(key, a.keys + (size_t)i * a.key_size, a.key_size);
			if (bpf_map_lookup_elem(a.fd, key, value)) {
				if (errno == ENOENT)
					continue;
				err = errno;
				goto fail;
			}
			for (j = 0; j < a.value_size; j++)
				value[j] = (char)(((unsigned char)value[j] & ~mask[j]) | (patch[j] & mask[j]));
			found[i] = 1;
			slots[n++] = &found[i];
		}
		err = -rmw_write(a.fd, keys, values, n, a.key_size, a.value_size, slots);
		if (err)
			goto fail;
	}
	free(keys);
	free(values);
	return out;
fail:
	free(keys);
	free(values);
	throw_errno(env, "map read-modify-write", err);
	return NULL;
}

/* ifIndex(name) -> ifindex in this process's network namespace, 0 when there is no such interface. */
static napi_value if_index(napi_env env, napi_callback_info info)
{
	char name[IF_NAMESIZE + 1];
	size_t argc = 1;
	napi_value argv[1];

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || arg_string(env, argv[0], name, sizeof(name)))
		return NULL;
	return u32_value(env, if_nametoindex(name));
}

/*
 * loadObject(objectsDir, file, pinRoot, progPin) -> { id, name }: loads the
 * object with its maps pinned under pinRoot (existing pins reused, so state
 * survives) and pins its program at progPin, replacing an older pin. The pin
 * is replaced only after a successful load: a verifier refusal leaves the
 * previous program pinned and attached.
 */
static napi_value load_object(napi_env env, napi_callback_info info)
{
	char dir[PATH_MAX], file[NAME_MAX + 1], root[PATH_MAX], pin[PATH_MAX], what[PATH_MAX + 32];
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	struct bpf_program *prog;
	struct bpf_object *obj;
	size_t argc = 4;
	napi_value argv[4], out;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 4 || arg_string(env, argv[0], dir, sizeof(dir)) || arg_string(env, argv[1], file, sizeof(file)) ||
	    arg_string(env, argv[2], root, sizeof(root)) || arg_string(env, argv[3], pin, sizeof(pin)))
		return NULL;
	obj = fos1_object_load(dir, file, root, 0);
	if (!obj) {
		snprintf(what, sizeof(what), "loading %s/%s", dir, file);
		throw_errno(env, what, errno);
		return NULL;
	}
	prog = bpf_object__next_program(obj, NULL);
	if (!prog || bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len)) {
		bpf_object__close(obj);
		snprintf(what, sizeof(what), "%s: no program", file);
		throw_errno(env, what, prog ? errno : ENOENT);
		return NULL;
	}
	if ((unlink(pin) && errno != ENOENT) || bpf_program__pin(prog, pin)) {
		int err = errno;

		bpf_object__close(obj);
		snprintf(what, sizeof(what), "pinning %s", pin);
		throw_errno(env, what, err);
		return NULL;
	}
	napi_create_object(env, &out);
	set_u32(env, out, "id", pi.id);
	set_string(env, out, "name", bpf_program__name(prog));
	bpf_object__close(obj);
	return out;
}

static int tc_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, struct bpf_tc_hook *hook)
{
	__u32 ifindex, egress;
	size_t argc = want;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < want || arg_u32(env, argv[0], &ifindex) || arg_u32(env, argv[1], &egress))
		return -1;
	hook->ifindex = (int)ifindex;
	hook->attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
	return 0;
}

/* libbpf's warnings go to stderr; its debug and info chatter would interleave with the JSON log. */
static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

/* The filter every fos1 program is attached as, on either hook: pref 1 handle 1 (as bpf/README's tc commands). */
#define FOS1_TC_HANDLE 1
#define FOS1_TC_PRIORITY 1

/* tcQuery(ifindex, egress) -> id of the program attached as fos1's filter, 0 when none (or no clsact). */
static napi_value tc_query(napi_env env, napi_callback_info info)
{
	LIBBPF_OPTS(bpf_tc_hook, hook);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FOS1_TC_HANDLE, .priority = FOS1_TC_PRIORITY);
	napi_value argv[2];
	int err;

	if (tc_args(env, info, 2, argv, &hook))
		return NULL;
	/* "no such qdisc/filter" is the answer here, not a warning worth printing. */
	libbpf_set_print(NULL);
	err = bpf_tc_query(&hook, &opts);
	libbpf_set_print(print_warnings);
	if (err == -ENOENT || err == -EINVAL)
		return u32_value(env, 0);
	if (err) {
		throw_errno(env, "tc query", -err);
		return NULL;
	}
	return u32_value(env, opts.prog_id);
}

/* tcAttach(ifindex, egress, progFd) -> program id: clsact created when missing, the filter replaced in place. */
static napi_value tc_attach(napi_env env, napi_callback_info info)
{
	LIBBPF_OPTS(bpf_tc_hook, hook);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FOS1_TC_HANDLE, .priority = FOS1_TC_PRIORITY,
		    .flags = BPF_TC_F_REPLACE);
	napi_value argv[3];
	__u32 fd;
	int err;

	if (tc_args(env, info, 3, argv, &hook) || arg_u32(env, argv[2], &fd))
		return NULL;
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		throw_errno(env, "creating clsact", -err);
		return NULL;
	}
	if (tc_args(env, info, 3, argv, &hook))
		return NULL;
	opts.prog_fd = (int)fd;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		throw_errno(env, "tc attach", -err);
		return NULL;
	}
	return u32_value(env, opts.prog_id);
}

/*
 * progTestRun(fd, packet) -> { retval, packet }: one BPF_PROG_TEST_RUN of a
 * pinned program on a copy of `packet`, against the live maps; `packet` in
 * the result is the program's output (a rewritten DSCP shows there).
 */
static napi_value prog_test_run(napi_env env, napi_callback_info info)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	unsigned char out_buf[2048];
	size_t argc = 2, len;
	napi_value argv[2], out;
	void *data;
	__u32 fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2 || arg_u32(env, argv[0], &fd) || arg_buffer(env, argv[1], &data, &len))
		return NULL;
	if (len > sizeof(out_buf)) {
		napi_throw_range_error(env, NULL, "packet larger than 2048 bytes");
		return NULL;
	}
	opts.data_in = data;
	opts.data_size_in = (__u32)len;
	opts.data_out = out_buf;
	opts.data_size_out = sizeof(out_buf);
	opts.repeat = 1;
	if (bpf_prog_test_run_opts((int)fd, &opts)) {
		throw_errno(env, "program test run", errno);
		return NULL;
	}
	napi_create_object(env, &out);
	set_u32(env, out, "retval", opts.retval);
	napi_set_named_property(env, out, "packet", copy_buffer(env, out_buf, opts.data_size_out));
	return out;
}

/* progRun(fd) -> retval: one BPF_PROG_RUN of a syscall program (no context), against the live maps. */
static napi_value prog_run(napi_env env, napi_callback_info info)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	size_t argc = 1;
	napi_value argv[1], out;
	__u32 fd;

	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1 || arg_u32(env, argv[0], &fd))
		return NULL;
	if (bpf_prog_test_run_opts((int)fd, &opts)) {
		throw_errno(env, "program run", errno);
		return NULL;
	}
	napi_create_int32(env, (int32_t)opts.retval, &out);
	return out;
}

static napi_value init(napi_env env, napi_value exports)
{
	const napi_property_descriptor fns[] = {
		{ "objGet", NULL, obj_get, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "close", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "mapInfo", NULL, map_info, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "progInfo", NULL, prog_info, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "updateBatch", NULL, update_batch, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "updateBatches", NULL, update_batches, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "deleteBatch", NULL, delete_batch, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "lookup", NULL, lookup, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "dump", NULL, dump, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "rmw", NULL, rmw, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "ifIndex", NULL, if_index, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "loadObject", NULL, load_object, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tcQuery", NULL, tc_query, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tcAttach", NULL, tc_attach, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "progTestRun", NULL, prog_test_run, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "progRun", NULL, prog_run, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "readCanonicalMaps", NULL, fos1_read_canonical_maps, NULL, NULL, NULL, napi_enumerable, NULL },
	};

	libbpf_set_print(print_warnings);
	napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
