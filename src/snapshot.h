/*
 * The content snapshot: every file under the root, loaded, rendered
 * (env injection into HTML), pre-compressed, with its validators, looked up by
 * canonical URL path. A snapshot is immutable once loaded; reload builds a
 * new one and swaps it in. The HTTP layer attaches its prebuilt response
 * objects through the `server_*` fields; the kernel fast path reads the
 * same resources to push them to nanoweb-xdpd.
 */
#ifndef NW_SNAPSHOT_H
#define NW_SNAPSHOT_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "config.h"
#include "conditional.h"
#include "encoding.h"
#include "xdp_demand.h"

#define NW_ETAG_MAX 40

struct nw_variant {
	const uint8_t *body; /* NULL when absent, or for an on-disk identity body */
	uint64_t len;
	void *server_resp;   /* HTTP layer: the 200 response, built on first use */
	int fd_plus1;        /* a sealed memfd holding body, plus one (body is
			      * then a read-only mapping of it); 0: none */
	bool borrowed;       /* body and fd are another resource's variant's
			      * (a sibling file served at its own URL) */
	char etag[NW_ETAG_MAX]; /* compressed variants: the resource's tag with
				 * "-<coding>" inside the quotes (RFC 9110 8.8.3:
				 * each representation has its own strong tag) */
};

struct nw_resource {
	char *path;             /* canonical URL path of the file: "/a/index.html" */
	char *file;             /* path on disk */
	const char *content_type;
	const char *cache_control;      /* points into the config */
	char etag[NW_ETAG_MAX];         /* strong, quoted: "\"1f3a...\""; identity's */
	char last_modified[NW_HTTP_DATE_LEN];   /* `modified`, formatted */
	time_t modified;        /* what validators compare (RFC 9110 8.8.2):
				 * the file's mtime, but never later than the
				 * load (8.8.2.1: a future time would be sent
				 * as is, and a later edit back to the present
				 * would look unmodified), and for a templated
				 * page never earlier than the snapshot's
				 * env_time (its body also depends on the
				 * environment) */
	time_t mtime;           /* the file's */
	long mtime_nsec;        /* on_disk: checked against the file per request */
	struct timespec ctime;  /* on_disk: the same (catches a rewrite whose
				 * mtime was set back, as cp -p does) */
	nlink_t nlink;          /* on_disk: links then (see changed_on_disk) */
	uint64_t size;          /* identity length */
	bool on_disk;           /* larger than max_memory_file: served from the file */
	bool is_html;
	bool templated;         /* env placeholders were filled in */
	unsigned enc_mask;      /* NW_ENC_BIT()s of the variants present (identity always) */
	unsigned sibling_mask;  /* NW_ENC_BIT()s of those read from <file>.gz/.br/.zst */
	struct nw_variant var[NW_ENC_COUNT];
	void *server_data;      /* HTTP layer: 304 response etc. */
	int disk_fd;            /* on_disk: descriptor held since load (-1: none);
				 * requests read the version the ETag describes */
	atomic_bool stale_warned; /* on_disk: "changed on disk" logged */
};

/* The strong entity tag of one representation of r. */
static inline const char *nw_variant_etag(const struct nw_resource *r,
					  enum nw_enc enc)
{
	return enc == NW_ENC_IDENTITY ? r->etag : r->var[enc].etag;
}

/* r has compressed variants: its answers carry Vary: Accept-Encoding. */
static inline bool nw_resource_varies(const struct nw_resource *r)
{
	return r->enc_mask != NW_ENC_BIT(NW_ENC_IDENTITY);
}

struct nw_snapshot_stats {
	size_t files;           /* resources loaded */
	size_t skipped;         /* unreadable files, symlinks outside the root, ... */
	uint64_t bytes;         /* identity bytes */
	uint64_t compressed_bytes; /* bytes of all compressed variants kept */
	uint64_t memory_bytes;  /* bytes held in memory (bodies) */
	size_t kept_compressed; /* unchanged files with compressed forms
				 * copied from the previous snapshot */
	double load_seconds;
};

struct nw_snapshot {
	atomic_uint refs;
	uint64_t generation;
	char *root;             /* real path of the root */
	struct nw_resource *res;
	size_t n_res;
	/* Hash index: canonical URL path -> resource. "/a/index.html" is also
	 * reachable as "/a/" (and "/index.html" as "/"). */
	uint32_t *slots;        /* index into res + 1; 0 = empty */
	const char **slot_keys;
	size_t n_slots;         /* power of two */
	const struct nw_resource *index_html; /* "/index.html" or NULL */
	const struct nw_resource *not_found;  /* "/404.html" or NULL */
	struct nw_snapshot_stats stats;
	/* When the environment templates are filled from was taken: the
	 * first load's time, kept by every reload (the environment is the
	 * process's, fixed at its start). */
	time_t env_time;
	/* Set by the HTTP layer; called once before the snapshot is freed. */
	void (*server_release)(struct nw_snapshot *s);
	/* Index internals, parallel to slots (appended by snapshot.c):
	 * nw_hash64() of each slot's key and its length. */
	uint64_t *slot_hash;
	size_t *slot_len;
	char *alias_pool;       /* storage of the "/a/" directory keys */
	/* Set by the kernel path client when the helper's cache could not
	 * hold this snapshot whole (NULL otherwise); freed with it. */
	_Atomic(struct nw_xdp_demand *) xdp_demand;
};

/*
 * Loads cfg->root. Walks the tree (not following symlinked directories out of
 * the root unless cfg->follow_symlinks), skips unreadable files with a
 * warning naming them (through nw_log), maps MIME types, renders templates
 * in HTML with the cfg->config_prefix variables from `envp`, compresses
 * compressible types with gzip/brotli/zstd in parallel on `threads` workers
 * (0: one per core), using sibling .gz/.br/.zst files instead when present
 * and decompressing to the same bytes. Keeps a variant only when smaller.
 * `progress`: show a progress line on stderr while compressing.
 * Returns NULL with a message in err when the root is missing or not a
 * directory, or on memory exhaustion.
 */
struct nw_snapshot *nw_snapshot_load(const struct nw_config *cfg,
				     char *const *envp, unsigned threads,
				     bool progress, char *err, size_t errlen);

/*
 * The same for a reload: a file whose served body (after templates) is
 * byte for byte the one `prev` serves under its path takes prev's
 * compressed variants (copies; those nano-web made, not sibling files)
 * instead of being compressed again, so that a reload costs about the
 * changed files' compression, and prev's env_time is kept. `prev` (may be
 * NULL) is only read, and must stay referenced until this returns.
 */
struct nw_snapshot *nw_snapshot_reload(const struct nw_config *cfg,
				       char *const *envp, unsigned threads,
				       bool progress,
				       const struct nw_snapshot *prev,
				       char *err, size_t errlen);

/* nano-web answered a request for r, found by its own path, itself
 * (kind: enum nw_xdp_answer): counted when the kernel cache left that
 * answer out (see xdp_demand.h). */
static inline void nw_snapshot_note_answer(struct nw_snapshot *s,
					   const struct nw_resource *r,
					   unsigned kind, unsigned enc)
{
	struct nw_xdp_demand *d = atomic_load_explicit(&s->xdp_demand,
						       memory_order_acquire);

	if (d)
		nw_xdp_demand_note(d, (size_t)(r - s->res),
				   nw_xdp_answer_bit(kind, enc));
}

/* Exact lookup of a canonical path (len bytes); NULL when absent. */
const struct nw_resource *nw_snapshot_lookup(const struct nw_snapshot *s,
					     const char *path, size_t len);

/* Reference counting: a snapshot is freed when the last reference goes. */
void nw_snapshot_ref(struct nw_snapshot *s);
void nw_snapshot_unref(struct nw_snapshot *s);

/* Opens the identity body of an on-disk resource (O_RDONLY|O_CLOEXEC). */
int nw_resource_open(const struct nw_resource *r);

/*
 * The 64-bit hash used for ETags (of the identity body as served) and for
 * the index (of the key): FNV-1a over the bytes, then the length mixed in
 * and a splitmix64 finalizer. Inputs of equal length that differ in one byte
 * always hash differently.
 */
uint64_t nw_hash64(const void *data, size_t len);

/*
 * Details of the loader (appended):
 * - Keys are the raw (decoded) byte paths, "/" + the path below the root.
 *   Hidden names (leading '.') are skipped except the top-level
 *   ".well-known". "<dir>/<cfg->index>" (default index.html) is also
 *   indexed as "<dir>/"; index_html is lookup("/" + cfg->index).
 * - Symlinks are resolved with realpath(); targets outside the root are
 *   skipped with a warning unless cfg->follow_symlinks. A directory that is
 *   its own ancestor (dev/ino) is skipped, as is anything deeper than 64
 *   levels or beyond 200,000 directories in all (symlink fan-out). FIFOs,
 *   sockets and devices are ignored.
 * - Files larger than cfg->max_memory_file are on_disk: identity only, not
 *   templated, ETag hashed by streaming the file.
 * - Sibling "<file>.gz/.br/.zst" is used as a variant (and then not served
 *   under its own name) when <file> qualifies for compression, is not
 *   templated, and the sibling decompresses to exactly the identity bytes
 *   (whatever the two mtimes); otherwise it is an ordinary file.
 * - Start-up budget. gzip always uses level 9. Brotli 11 costs ~1.3-1.6 us
 *   per byte and zstd 19 ~0.2-0.5 us per byte on this project's 2-core
 *   machine, so 10,000 pages of 2 KB would take ~16 s to load at the best
 *   levels. Each brotli/zstd job therefore gets an estimated cost (per call
 *   + per byte, see tier_cost in snapshot.c) and, going from the largest
 *   file down, the first tier that fits:
 *     best: brotli 11, zstd 19
 *     mid:  brotli NW_SNAPSHOT_BR_MID_QUALITY, zstd NW_SNAPSHOT_ZSTD_MID_LEVEL
 *     fast: brotli NW_SNAPSHOT_BR_FAST_QUALITY, zstd NW_SNAPSHOT_ZSTD_FAST_LEVEL
 *   A tier fits when the job alone stays within NW_SNAPSHOT_COMPRESS_BUDGET_MS
 *   and the total estimate (all later jobs counted at fast) stays within
 *   that many milliseconds on each of the worker threads. Small sites get
 *   the best levels everywhere; big ones get them on their largest files.
 *   The fast levels are within ~4-6% of the best sizes on small text. The
 *   choice depends only on the tree and the thread count, never on timing,
 *   so a reload of unchanged content gives the same bytes.
 */
#ifndef NW_SNAPSHOT_COMPRESS_BUDGET_MS
#define NW_SNAPSHOT_COMPRESS_BUDGET_MS 1000
#endif
#define NW_SNAPSHOT_BR_MID_QUALITY 9
#define NW_SNAPSHOT_ZSTD_MID_LEVEL 15
#define NW_SNAPSHOT_BR_FAST_QUALITY 6
#define NW_SNAPSHOT_ZSTD_FAST_LEVEL 9

#endif
