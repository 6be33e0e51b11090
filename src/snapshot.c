/*
 * The content snapshot: walks the root, loads every regular file, renders
 * templates, pre-compresses in parallel and indexes by URL path.
 * No HTTP here: the HTTP layer and the kernel fast path read the result.
 */
#include "build-config.h" /* autoconf: HAVE_MALLOC_TRIM */
#include "snapshot.h"
#include "bodyfd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "compress.h"
#include "log.h"
#include "mime.h"
#include "template.h"

#define NW_WALK_MAX_DEPTH 64
/* Bounds the walk when symlinks make many paths to the same directories. */
#define NW_WALK_MAX_DIRS 200000

static atomic_uint_fast64_t nw_generation;

/* ---- hashing ----------------------------------------------------------- */

/* 64-bit FNV-1a, streamable; finished with the length and a splitmix64
 * finalizer so that every output bit depends on every input bit. */
#define NW_FNV_OFFSET 0xcbf29ce484222325ULL
#define NW_FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_update(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= NW_FNV_PRIME;
	}
	return h;
}

static uint64_t hash_finish(uint64_t h, uint64_t len)
{
	h ^= len * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

uint64_t nw_hash64(const void *data, size_t len)
{
	return hash_finish(fnv_update(NW_FNV_OFFSET, data, len), len);
}

/* ---- the walk ---------------------------------------------------------- */

struct ent {
	char *url;              /* "/a/b.css" */
	char *file;             /* path on disk */
	uint8_t *body;          /* identity body (NULL when on disk) */
	uint64_t size;
	uint64_t hash;          /* content hash (set while streaming on-disk files) */
	time_t mtime;
	long mtime_nsec;
	struct timespec ctime;
	nlink_t nlink;
	bool on_disk;
	bool templated;
	bool consumed;          /* a sibling .gz/.br/.zst used as a variant */
	size_t form_of_plus1;   /* consumed, its bytes moved to that ent's
				 * var[form_enc] (index plus one; 0: not) */
	int form_enc;
	size_t res_plus1;       /* the resource made of it, plus one */
	int fd_plus1;           /* on disk: the descriptor kept open, plus one */
	const char *content_type;
	uint8_t *var[NW_ENC_COUNT];
	size_t var_len[NW_ENC_COUNT];
	unsigned sibling_mask;  /* NW_ENC_BIT()s of var[] read from siblings */
	atomic_uint jobs_left;
};

struct dirid {
	dev_t dev;
	ino_t ino;
};

struct walk {
	const struct nw_config *cfg;
	const char *root_real;
	size_t root_len;
	struct ent *ents;
	size_t n, cap;
	struct dirid anc[NW_WALK_MAX_DEPTH + 1];
	size_t skipped;
	size_t dirs;
	bool oom;
	char failed[512]; /* why the load fails (see skip()); "" while it goes on */
};

/* Whether err says something about the file itself (gone, not allowed, a
 * loop, not a file): then it is skipped, as its owner made it. Any other
 * (no descriptors or memory left, an I/O error) is a passing shortage of
 * this machine: the load fails, and a reload keeps the old content rather
 * than dropping the file. */
static bool about_the_file(int err)
{
	return err == ENOENT || err == ENOTDIR || err == EACCES || err == EPERM ||
	       err == ELOOP || err == ENAMETOOLONG || err == ENXIO ||
	       err == ENODEV || err == EISDIR;
}

/* A file or directory that is not loaded: err 0 or about_the_file(err):
 * a warning, and the walk goes on; else the load fails. */
__attribute__((format(printf, 4, 5)))
static void skip(struct walk *w, int err, const char *path, const char *fmt, ...)
{
	va_list ap;
	char msg[600];

	if (err && !about_the_file(err)) {
		if (!w->failed[0])
			snprintf(w->failed, sizeof w->failed, "%s: %s", path,
				 strerror(err));
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	nw_warn("%s", msg);
	w->skipped++;
}

/* The walk stops at the first failure. */
static bool walk_on(const struct walk *w)
{
	return !w->oom && !w->failed[0];
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* Avoid "//" when a is "/". */
	if (la && a[la - 1] == '/')
		la--;
	char *s = malloc(la + 1 + lb + 1);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

static bool inside_root(const struct walk *w, const char *real)
{
	if (w->root_len == 1) /* the root is "/" */
		return true;
	return strncmp(real, w->root_real, w->root_len) == 0 &&
	       (real[w->root_len] == '/' || real[w->root_len] == '\0');
}

static void ent_free(struct ent *e)
{
	free(e->url);
	free(e->file);
	free(e->body);
	for (int i = 0; i < NW_ENC_COUNT; i++)
		free(e->var[i]);
	if (e->fd_plus1)
		close(e->fd_plus1 - 1);
	e->fd_plus1 = 0;
}

/*
 * The content hashes of the on-disk files of the last load, by file
 * identity: a reload reads again only the large files that changed
 * (hashing a 1 GB file takes seconds). An entry is reused when inode,
 * size, mtime and ctime are all unchanged. Loads are serialised by
 * disk_hash_lock; a failed load leaves the previous table.
 */
struct disk_hash {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	uint64_t hash;
};
static pthread_mutex_t disk_hash_lock = PTHREAD_MUTEX_INITIALIZER;
static struct disk_hash *disk_prev, *disk_next;
static size_t disk_n_prev, disk_n_next, disk_cap_next, disk_reused;

static bool same_file(const struct disk_hash *d, const struct stat *st)
{
	return d->dev == st->st_dev && d->ino == st->st_ino &&
	       d->size == st->st_size &&
	       d->mtime.tv_sec == st->st_mtim.tv_sec &&
	       d->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       d->ctime.tv_sec == st->st_ctim.tv_sec &&
	       d->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static bool disk_hash_find(const struct stat *st, uint64_t *hash)
{
	for (size_t i = 0; i < disk_n_prev; i++)
		if (same_file(&disk_prev[i], st)) {
			*hash = disk_prev[i].hash;
			return true;
		}
	return false;
}

/* Best effort: without memory, the next reload hashes the file again. */
static void disk_hash_keep(const struct stat *st, uint64_t hash)
{
	if (disk_n_next == disk_cap_next) {
		size_t ncap = disk_cap_next ? 2 * disk_cap_next : 16;
		struct disk_hash *n = realloc(disk_next, ncap * sizeof(*n));

		if (!n)
			return;
		disk_next = n;
		disk_cap_next = ncap;
	}
	disk_next[disk_n_next++] = (struct disk_hash){
		.dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
		.mtime = st->st_mtim, .ctime = st->st_ctim, .hash = hash,
	};
}

/* At the end of a load: the table it built replaces the old one (ok) or
 * is dropped. */
static void disk_hash_end(bool ok)
{
	if (ok) {
		free(disk_prev);
		disk_prev = disk_next;
		disk_n_prev = disk_n_next;
	} else {
		free(disk_next);
	}
	disk_next = NULL;
	disk_n_next = disk_cap_next = 0;
}

/* Reads an opened regular file into a new entry. Takes ownership of fd. */
static void add_file(struct walk *w, int fd, const char *url, const char *disk)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	struct ent e;
	memset(&e, 0, sizeof(e));
	e.size = (uint64_t)st.st_size;
	e.mtime = st.st_mtime;
	e.mtime_nsec = st.st_mtim.tv_nsec;
	e.ctime = st.st_ctim;
	e.nlink = st.st_nlink;
	e.on_disk = e.size > w->cfg->max_memory_file;

	/* Back to blocking reads (the open used O_NONBLOCK against FIFOs). */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);

	if (e.on_disk && disk_hash_find(&st, &e.hash)) {
		disk_reused++;
		disk_hash_keep(&st, e.hash);
	} else if (e.on_disk) {
		uint8_t buf[65536];
		uint64_t h = NW_FNV_OFFSET, total = 0;
		for (;;) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				skip(w, errno, disk, "skipping %s: %s", disk, strerror(errno));
				close(fd);
				return;
			}
			if (r == 0)
				break;
			h = fnv_update(h, buf, (size_t)r);
			total += (uint64_t)r;
		}
		e.size = total;
		e.hash = hash_finish(h, total);
		if (total == (uint64_t)st.st_size)
			disk_hash_keep(&st, e.hash);
	} else {
		e.body = malloc(e.size ? e.size : 1);
		if (!e.body) {
			w->oom = true;
			close(fd);
			return;
		}
		uint64_t got = 0;
		while (got < e.size) {
			ssize_t r = read(fd, e.body + got, e.size - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				skip(w, errno, disk, "skipping %s: %s", disk, strerror(errno));
				free(e.body);
				close(fd);
				return;
			}
			if (r == 0)
				break; /* shrank while we read: keep what is there */
			got += (uint64_t)r;
		}
		e.size = got;
	}
	if (e.on_disk)
		e.fd_plus1 = fd + 1; /* served from this inode, even once replaced */
	else
		close(fd);

	e.url = strdup(url);
	e.file = strdup(disk);
	if (!e.url || !e.file || (w->n == w->cap && w->cap > SIZE_MAX / 2 / sizeof(*w->ents))) {
		ent_free(&e);
		w->oom = true;
		return;
	}
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 256;
		struct ent *ne = realloc(w->ents, ncap * sizeof(*ne));
		if (!ne) {
			ent_free(&e);
			w->oom = true;
			return;
		}
		w->ents = ne;
		w->cap = ncap;
	}
	w->ents[w->n++] = e;
}

static void walk_dir(struct walk *w, int dfd, const char *real_dir,
		     const char *url_dir, int depth);

/* Enters directory fd (owned) unless it is one of its own ancestors. */
static void enter_dir(struct walk *w, int fd, const char *real_dir,
		      const char *url_dir, int depth)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		skip(w, errno, real_dir, "skipping directory %s: %s", real_dir,
		     strerror(errno));
		close(fd);
		return;
	}
	for (int i = 0; i < depth; i++) {
		if (w->anc[i].dev == st.st_dev && w->anc[i].ino == st.st_ino) {
			skip(w, 0, real_dir, "skipping %s: symlink loop (directory %s "
			     "is its own ancestor)", url_dir, real_dir);
			close(fd);
			return;
		}
	}
	if (depth > NW_WALK_MAX_DEPTH) {
		skip(w, 0, real_dir, "skipping directory %s: more than %d levels deep",
		     real_dir, NW_WALK_MAX_DEPTH);
		close(fd);
		return;
	}
	if (++w->dirs > NW_WALK_MAX_DIRS) {
		if (w->dirs == NW_WALK_MAX_DIRS + 1)
			nw_warn("more than %d directories under the root (symlinks "
				"leading to the same directories?): skipping the rest",
				NW_WALK_MAX_DIRS);
		w->skipped++;
		close(fd);
		return;
	}
	w->anc[depth].dev = st.st_dev;
	w->anc[depth].ino = st.st_ino;
	walk_dir(w, fd, real_dir, url_dir, depth);
}

static void walk_entry(struct walk *w, int dfd, const char *real_dir,
		       const char *name, const char *url, int depth)
{
	const int fileflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	char *disk = join(real_dir, name);
	if (!disk) {
		w->oom = true;
		return;
	}
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		skip(w, errno, disk, "skipping %s: %s", disk, strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		char *target = realpath(disk, NULL);
		if (!target) {
			if (errno == ENOMEM)
				w->oom = true;
			else
				skip(w, errno, disk, "skipping symlink %s: %s", disk,
				     strerror(errno));
			goto out;
		}
		if (!inside_root(w, target) && !w->cfg->follow_symlinks) {
			skip(w, 0, disk, "skipping symlink %s: it points outside the "
			     "root, to %s (set follow_symlinks to serve it)", disk, target);
			free(target);
			goto out;
		}
		struct stat tst;
		if (stat(target, &tst) != 0) {
			skip(w, errno, disk, "skipping symlink %s: %s", disk,
			     strerror(errno));
		} else if (S_ISDIR(tst.st_mode)) {
			int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0) {
				skip(w, errno, disk, "skipping directory %s: %s", disk,
				     strerror(errno));
			} else {
				enter_dir(w, fd, target, url, depth + 1);
			}
		} else if (S_ISREG(tst.st_mode)) {
			int fd = open(target, fileflags);
			if (fd < 0) {
				skip(w, errno, disk, "skipping unreadable file %s: %s", disk,
				     strerror(errno));
			} else {
				add_file(w, fd, url, target);
			}
		}
		free(target);
	} else if (S_ISDIR(st.st_mode)) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			skip(w, errno, disk, "skipping directory %s: %s", disk,
			     strerror(errno));
		} else {
			enter_dir(w, fd, disk, url, depth + 1);
		}
	} else if (S_ISREG(st.st_mode)) {
		int fd = openat(dfd, name, fileflags | O_NOFOLLOW);
		if (fd < 0) {
			skip(w, errno, disk, "skipping unreadable file %s: %s", disk,
			     strerror(errno));
		} else {
			add_file(w, fd, url, disk);
		}
	}
	/* FIFOs, sockets and devices are not content. */
out:
	free(disk);
}

/* Walks directory dfd (owned). depth 0 is the root. */
static void walk_dir(struct walk *w, int dfd, const char *real_dir,
		     const char *url_dir, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		skip(w, errno, real_dir, "skipping directory %s: %s", real_dir,
		     strerror(errno));
		close(dfd);
		return;
	}
	struct dirent *de;
	while (walk_on(w) && (errno = 0, de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		if (name[0] == '.') {
			if (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))
				continue;
			if (!(depth == 0 && strcmp(name, ".well-known") == 0))
				continue;
		}
		char *url = join(url_dir, name);
		if (!url) {
			w->oom = true;
			break;
		}
		walk_entry(w, dirfd(d), real_dir, name, url, depth);
		free(url);
	}
	if (walk_on(w) && errno != 0)
		skip(w, errno, real_dir, "error reading directory %s: %s", real_dir,
		     strerror(errno));
	closedir(d);
}

/* ---- compression ------------------------------------------------------- */

/*
 * Start-up budget (see snapshot.h): estimated cost of each codec at the best
 * and the fast level, as microseconds per call and per byte, measured on a
 * 2-core x86-64 machine with HTML/JS-like text and rounded up.
 */
struct level_cost {
	int level;
	double per_call_us, per_byte_us;
};
enum { TIER_BEST, TIER_MID, TIER_FAST, N_TIERS };
static const struct level_cost tier_cost[N_TIERS][NW_ENC_COUNT] = {
	[TIER_BEST] = {
		[NW_ENC_GZIP] = { 9, 10, 0.08 },
		[NW_ENC_BR] = { 11, 200, 1.6 },
		[NW_ENC_ZSTD] = { 19, 60, 0.5 },
	},
	[TIER_MID] = {
		[NW_ENC_GZIP] = { 9, 10, 0.08 },
		[NW_ENC_BR] = { NW_SNAPSHOT_BR_MID_QUALITY, 1000, 0.12 },
		[NW_ENC_ZSTD] = { NW_SNAPSHOT_ZSTD_MID_LEVEL, 200, 0.27 },
	},
	[TIER_FAST] = {
		[NW_ENC_GZIP] = { 9, 10, 0.08 },
		[NW_ENC_BR] = { NW_SNAPSHOT_BR_FAST_QUALITY, 20, 0.04 },
		[NW_ENC_ZSTD] = { NW_SNAPSHOT_ZSTD_FAST_LEVEL, 20, 0.04 },
	},
};

static double job_cost(const struct level_cost *tab, int enc, uint64_t size)
{
	return tab[enc].per_call_us + tab[enc].per_byte_us * (double)size;
}

struct job {
	uint32_t ent;
	uint8_t enc;
	int8_t level;
	uint64_t size;
	uint8_t *out;
	size_t out_len;
};

struct pool {
	struct job *jobs;
	size_t n_jobs;
	struct ent *ents;
	atomic_size_t next;
	atomic_size_t files_done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned running;
};

static bool is_text_type(const char *ct)
{
	return strncmp(ct, "text/", 5) == 0 || strstr(ct, "charset=") ||
	       strstr(ct, "json") || strstr(ct, "xml") || strstr(ct, "javascript");
}

static void run_jobs(struct pool *p)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n_jobs)
			break;
		struct job *j = &p->jobs[i];
		struct ent *e = &p->ents[j->ent];
		j->out = nw_compress_level((enum nw_enc)j->enc, e->body, e->size,
					   is_text_type(e->content_type),
					   j->level, &j->out_len);
		if (atomic_fetch_sub(&e->jobs_left, 1) == 1)
			atomic_fetch_add(&p->files_done, 1);
	}
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	run_jobs(p);
	pthread_mutex_lock(&p->mu);
	p->running--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int job_cmp(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->ent != y->ent)
		return x->ent < y->ent ? -1 : 1;
	return (int)x->enc - (int)y->enc;
}

static void show_progress(size_t done, size_t total)
{
	fprintf(stderr, "\rcompressing %zu/%zu files (%zu%%)", done, total,
		total ? done * 100 / total : 100);
	fflush(stderr);
}

/*
 * Picks the level of each job, largest first: the best tier whose estimate
 * fits the wall budget on its own and keeps the total (every later job
 * counted at the fast tier) within the budget of all workers; else fast.
 */
static void assign_levels(struct job *jobs, size_t n, unsigned threads)
{
	double budget = NW_SNAPSHOT_COMPRESS_BUDGET_MS * 1000.0 * threads;
	double wall = NW_SNAPSHOT_COMPRESS_BUDGET_MS * 1000.0;
	double fast_rest = 0;
	for (size_t i = 0; i < n; i++)
		fast_rest += job_cost(tier_cost[TIER_FAST], jobs[i].enc, jobs[i].size);
	double spent = 0;
	for (size_t i = 0; i < n; i++) {
		int enc = jobs[i].enc;
		double fast = job_cost(tier_cost[TIER_FAST], enc, jobs[i].size);
		int tier = TIER_FAST;
		fast_rest -= fast;
		for (int t = TIER_BEST; t < TIER_FAST; t++) {
			double c = job_cost(tier_cost[t], enc, jobs[i].size);
			if (c <= wall && spent + c + fast_rest <= budget) {
				tier = t;
				break;
			}
		}
		jobs[i].level = (int8_t)tier_cost[tier][enc].level;
		spent += job_cost(tier_cost[tier], enc, jobs[i].size);
	}
}

/* [compression] gzip / brotli / zstd */
static bool codec_on(const struct nw_config *cfg, int enc)
{
	return (enc == NW_ENC_GZIP && cfg->gzip) ||
	       (enc == NW_ENC_BR && cfg->brotli) ||
	       (enc == NW_ENC_ZSTD && cfg->zstd);
}

/* e gets compressed variants (those it has not from siblings). */
static bool to_compress(const struct ent *e, const struct nw_config *cfg)
{
	return cfg->compress && !e->consumed && !e->on_disk &&
	       e->size >= cfg->min_compress_size &&
	       nw_mime_compressible(e->content_type);
}

/*
 * Copies prev's compressed variants of the files whose body is byte for
 * byte what prev serves under the same path (see nw_snapshot_reload):
 * compress_all then skips them. Returns false on ENOMEM.
 */
static bool keep_compressed(struct ent *ents, size_t n_ents,
			    const struct nw_config *cfg,
			    const struct nw_snapshot *prev, size_t *kept)
{
	*kept = 0;
	if (!prev)
		return true;
	for (size_t i = 0; i < n_ents; i++) {
		struct ent *e = &ents[i];
		const struct nw_resource *r;
		bool any = false;

		if (!to_compress(e, cfg))
			continue;
		r = nw_snapshot_lookup(prev, e->url, strlen(e->url));
		if (!r || r->on_disk || strcmp(r->path, e->url) != 0 ||
		    r->size != e->size || !r->var[NW_ENC_IDENTITY].body ||
		    memcmp(r->var[NW_ENC_IDENTITY].body, e->body, e->size) != 0)
			continue;
		for (int enc = NW_ENC_GZIP; enc < NW_ENC_COUNT; enc++) {
			const struct nw_variant *v = &r->var[enc];

			if (!codec_on(cfg, enc) || e->var[enc] || !v->body ||
			    (r->sibling_mask & NW_ENC_BIT(enc)))
				continue;
			e->var[enc] = malloc(v->len ? v->len : 1);
			if (!e->var[enc])
				return false;
			memcpy(e->var[enc], v->body, v->len);
			e->var_len[enc] = v->len;
			any = true;
		}
		*kept += any;
	}
	return true;
}

/* Returns false on ENOMEM. */
static bool compress_all(struct ent *ents, size_t n_ents, const struct nw_config *cfg,
			 unsigned threads, bool progress)
{
	static const enum nw_enc codecs[] = { NW_ENC_GZIP, NW_ENC_BR, NW_ENC_ZSTD };
	size_t n_jobs = 0, n_files = 0;

	if (!cfg->compress)
		return true;
	/* Count first, then fill. */
	for (size_t i = 0; i < n_ents; i++) {
		struct ent *e = &ents[i];
		unsigned k = 0;
		if (!to_compress(e, cfg))
			continue;
		for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++)
			if (codec_on(cfg, codecs[c]) && !e->var[codecs[c]])
				k++;
		atomic_store(&e->jobs_left, k);
		n_jobs += k;
		n_files += k ? 1 : 0;
	}
	if (n_jobs == 0)
		return true;
	struct job *jobs = calloc(n_jobs, sizeof(*jobs));
	if (!jobs)
		return false;
	size_t nj = 0;
	for (size_t i = 0; i < n_ents; i++) {
		struct ent *e = &ents[i];
		if (atomic_load(&e->jobs_left) == 0)
			continue;
		for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
			if (codec_on(cfg, codecs[c]) && !e->var[codecs[c]]) {
				jobs[nj].ent = (uint32_t)i;
				jobs[nj].enc = (uint8_t)codecs[c];
				jobs[nj].size = e->size;
				nj++;
			}
		}
	}
	qsort(jobs, n_jobs, sizeof(*jobs), job_cmp);
	if (threads == 0) {
		long np = sysconf(_SC_NPROCESSORS_ONLN);
		threads = np > 0 ? (unsigned)np : 1;
	}
	if (threads > 256)
		threads = 256;
	assign_levels(jobs, n_jobs, threads);

	struct pool p;
	memset(&p, 0, sizeof(p));
	p.jobs = jobs;
	p.n_jobs = n_jobs;
	p.ents = ents;
	atomic_init(&p.next, 0);
	atomic_init(&p.files_done, 0);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);

	if (threads > n_jobs)
		threads = (unsigned)n_jobs;
	pthread_t *tids = calloc(threads, sizeof(*tids));
	unsigned started = 0;
	if (tids) {
		for (unsigned t = 0; t < threads; t++) {
			pthread_mutex_lock(&p.mu);
			p.running++;
			pthread_mutex_unlock(&p.mu);
			if (pthread_create(&tids[t], NULL, worker, &p) != 0) {
				pthread_mutex_lock(&p.mu);
				p.running--;
				pthread_mutex_unlock(&p.mu);
				break;
			}
			started++;
		}
	}
	if (started == 0) {
		run_jobs(&p); /* no threads: do it here */
	} else if (progress) {
		pthread_mutex_lock(&p.mu);
		while (p.running > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p.cv, &p.mu, &ts);
			if (p.running > 0) {
				pthread_mutex_unlock(&p.mu);
				show_progress(atomic_load(&p.files_done), n_files);
				pthread_mutex_lock(&p.mu);
			}
		}
		pthread_mutex_unlock(&p.mu);
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (progress) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(tids);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);

	for (size_t i = 0; i < n_jobs; i++) {
		struct ent *e = &ents[jobs[i].ent];
		if (jobs[i].out && jobs[i].out_len < e->size) {
			e->var[jobs[i].enc] = jobs[i].out;
			e->var_len[jobs[i].enc] = jobs[i].out_len;
		} else {
			free(jobs[i].out);
		}
	}
	free(jobs);
	return true;
}

/* ---- siblings ---------------------------------------------------------- */

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	return strcmp(x->url, y->url);
}

static struct ent *find_ent(struct ent *ents, size_t n, const char *url)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ents[mid].url, url);
		if (c == 0)
			return &ents[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *const sibling_ext[NW_ENC_COUNT] = {
	[NW_ENC_GZIP] = ".gz", [NW_ENC_BR] = ".br", [NW_ENC_ZSTD] = ".zst",
};

/*
 * Uses "<file>.gz/.br/.zst" as variants of <file> when compression applies to
 * it, the sibling is at least as new and decodes to exactly the identity
 * body. A used sibling is not served under its own name. Returns false on
 * ENOMEM.
 */
static bool use_siblings(struct ent *ents, size_t n, const struct nw_config *cfg)
{
	if (!cfg->compress)
		return true;
	for (size_t i = 0; i < n; i++) {
		struct ent *b = &ents[i];
		if (b->templated || !to_compress(b, cfg))
			continue;
		for (int enc = NW_ENC_GZIP; enc < NW_ENC_COUNT; enc++) {
			if (!codec_on(cfg, enc))
				continue;
			size_t ul = strlen(b->url), xl = strlen(sibling_ext[enc]);
			char *su = malloc(ul + xl + 1);
			if (!su)
				return false;
			memcpy(su, b->url, ul);
			memcpy(su + ul, sibling_ext[enc], xl + 1);
			struct ent *s = find_ent(ents, n, su);
			free(su);
			/* not by mtime: the bytes decide (a build may touch
			 * the file after writing the sibling) */
			if (!s || s->consumed || s->on_disk)
				continue;
			size_t dlen = 0;
			uint8_t *dec = nw_decompress((enum nw_enc)enc, s->body, s->size,
						     b->size, &dlen);
			bool same = dec && dlen == b->size &&
				    memcmp(dec, b->body, dlen) == 0;
			free(dec);
			if (!same) {
				nw_warn("not using %s as the %s variant of %s: it does not "
					"decompress to the same bytes", s->file,
					nw_enc_token((enum nw_enc)enc), b->file);
				continue;
			}
			s->consumed = true;
			if (s->size < b->size) {
				b->var[enc] = s->body;
				b->var_len[enc] = s->size;
				b->sibling_mask |= NW_ENC_BIT(enc);
				s->body = NULL;
				s->form_of_plus1 = i + 1;
				s->form_enc = enc;
			}
		}
	}
	return true;
}

/* ---- index ------------------------------------------------------------- */

static bool index_insert(struct nw_snapshot *s, const char *key, uint32_t res)
{
	size_t len = strlen(key);
	uint64_t h = nw_hash64(key, len);
	size_t mask = s->n_slots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (s->slots[i] == 0) {
			s->slots[i] = res + 1;
			s->slot_keys[i] = key;
			s->slot_hash[i] = h;
			s->slot_len[i] = len;
			return true;
		}
		if (s->slot_len[i] == len && memcmp(s->slot_keys[i], key, len) == 0)
			return false; /* duplicate: first one wins */
	}
}

const struct nw_resource *nw_snapshot_lookup(const struct nw_snapshot *s,
					     const char *path, size_t len)
{
	if (!s || !path || s->n_slots == 0)
		return NULL;
	uint64_t h = nw_hash64(path, len);
	size_t mask = s->n_slots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t v = s->slots[i];
		if (v == 0)
			return NULL;
		if (s->slot_hash[i] == h && s->slot_len[i] == len &&
		    memcmp(s->slot_keys[i], path, len) == 0)
			return &s->res[v - 1];
	}
}

/* ---- load / free ------------------------------------------------------- */

/*
 * glibc gives freed memory back to the system only from the top of an
 * arena, so without this a reload leaves RSS near old content plus new
 * (measured, 40 MB of text reloaded as 10 MB, two threads: 84-112 MB of
 * anonymous memory over five reloads; with it 33-44 MB, and 21 MB, the
 * content, since a reload copies the unchanged files' compressed forms in
 * this thread). malloc_trim releases every free page except the top chunk
 * of a load thread's arena. Called once a load has dropped its
 * temporaries and once per freed snapshot, in whichever thread dropped
 * the last reference: a worker then pauses its connections for as long as
 * the trim takes, 0.5-7 ms for 4,000-40,000 freed blocks (measured), once
 * per reload.
 */
static void give_back_freed_memory(void)
{
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

static void snapshot_free(struct nw_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_res; i++) {
		struct nw_resource *r = &s->res[i];
		free(r->path);
		free(r->file);
		if (r->on_disk && r->disk_fd >= 0)
			close(r->disk_fd);
		for (int e = 0; e < NW_ENC_COUNT; e++) {
			struct nw_variant *v = &r->var[e];

			if (v->borrowed)
				continue;
			if (v->fd_plus1)
				nw_bodyfd_release(v->body, (size_t)v->len,
						  v->fd_plus1 - 1);
			else
				free((void *)v->body);
		}
	}
	free(s->res);
	free(s->slots);
	free(s->slot_keys);
	free(s->slot_hash);
	free(s->slot_len);
	free(s->alias_pool);
	nw_xdp_demand_free(atomic_load(&s->xdp_demand));
	free(s->root);
	free(s);
	give_back_freed_memory();
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void render_templates(struct ent *ents, size_t n, const struct nw_config *cfg,
			     char *const *envp)
{
	size_t nvars = 0;
	struct nw_env_var *vars = NULL;
	bool collected = false;
	for (size_t i = 0; i < n; i++) {
		struct ent *e = &ents[i];
		if (e->on_disk || !nw_mime_is_html(e->content_type))
			continue;
		if (!collected) {
			if (envp)
				vars = nw_env_collect(envp, cfg->config_prefix ?
						      cfg->config_prefix : "", &nvars);
			if (!vars)
				nvars = 0;
			collected = true;
		}
		size_t out_len = 0;
		char *out = nw_template_render((const char *)e->body, e->size,
					       vars, nvars, &out_len);
		if (out) {
			free(e->body);
			e->body = (uint8_t *)out;
			e->size = out_len;
			e->templated = true;
		}
	}
	free(vars);
}

struct nw_snapshot *nw_snapshot_load(const struct nw_config *cfg,
				     char *const *envp, unsigned threads,
				     bool progress, char *err, size_t errlen)
{
	return nw_snapshot_reload(cfg, envp, threads, progress, NULL, err, errlen);
}

struct nw_snapshot *nw_snapshot_reload(const struct nw_config *cfg,
				       char *const *envp, unsigned threads,
				       bool progress,
				       const struct nw_snapshot *prev,
				       char *err, size_t errlen)
{
	double t0 = now_seconds();
	time_t loaded = time(NULL);
	size_t kept = 0;
	struct walk w;
	struct nw_snapshot *s = NULL;
	char *root_real = NULL;
	char dummy[1];

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	memset(&w, 0, sizeof(w));
	if (!cfg || !cfg->root) {
		snprintf(err, errlen, "no root directory given");
		return NULL;
	}
	root_real = realpath(cfg->root, NULL);
	if (!root_real) {
		snprintf(err, errlen, "root %s: %s", cfg->root, strerror(errno));
		return NULL;
	}
	int rfd = open(root_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		if (errno == ENOTDIR)
			snprintf(err, errlen, "root %s is not a directory", cfg->root);
		else
			snprintf(err, errlen, "root %s: %s", cfg->root, strerror(errno));
		free(root_real);
		return NULL;
	}

	w.cfg = cfg;
	w.root_real = root_real;
	w.root_len = strlen(root_real);
	pthread_mutex_lock(&disk_hash_lock);
	disk_reused = 0;
	enter_dir(&w, rfd, root_real, "", 0);
	disk_hash_end(walk_on(&w));
	if (disk_reused)
		nw_debug("%zu on-disk file(s) unchanged since the last load: not read again",
			 disk_reused);
	pthread_mutex_unlock(&disk_hash_lock);
	if (w.oom)
		goto oom;
	if (w.failed[0]) {
		snprintf(err, errlen, "loading %s: %s", cfg->root, w.failed);
		goto fail;
	}

	if (w.n > 1)
		qsort(w.ents, w.n, sizeof(*w.ents), ent_cmp);
	for (size_t i = 0; i < w.n; i++)
		w.ents[i].content_type = nw_mime_type(w.ents[i].url);
	render_templates(w.ents, w.n, cfg, envp);
	if (!use_siblings(w.ents, w.n, cfg) ||
	    !keep_compressed(w.ents, w.n, cfg, prev, &kept))
		goto oom;
	double t1 = now_seconds();
	if (!compress_all(w.ents, w.n, cfg, threads, progress))
		goto oom;
	double t2 = now_seconds();

	s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	atomic_init(&s->refs, 1);
	s->root = root_real;
	root_real = NULL;
	s->env_time = prev ? prev->env_time : loaded;

	size_t n_res = w.n;
	s->res = calloc(n_res ? n_res : 1, sizeof(*s->res));
	if (!s->res)
		goto oom;

	/* Directory keys: "/a/index.html" is also "/a/". */
	const char *index = cfg->index && cfg->index[0] ? cfg->index : "index.html";
	size_t ilen = strlen(index);
	size_t alias_bytes = 0, n_alias = 0;
	for (size_t i = 0; i < w.n; i++) {
		const struct ent *e = &w.ents[i];
		size_t ul = strlen(e->url);
		if (e->consumed || ul <= ilen || e->url[ul - ilen - 1] != '/' ||
		    strcmp(e->url + ul - ilen, index) != 0)
			continue;
		alias_bytes += ul - ilen + 1;
		n_alias++;
	}
	size_t n_keys = n_res + n_alias, n_slots = 16;
	while (n_slots < n_keys * 2)
		n_slots *= 2;
	s->n_slots = n_slots;
	s->slots = calloc(n_slots, sizeof(*s->slots));
	s->slot_keys = calloc(n_slots, sizeof(*s->slot_keys));
	s->slot_hash = calloc(n_slots, sizeof(*s->slot_hash));
	s->slot_len = calloc(n_slots, sizeof(*s->slot_len));
	s->alias_pool = malloc(alias_bytes ? alias_bytes : 1);
	if (!s->slots || !s->slot_keys || !s->slot_hash || !s->slot_len ||
	    !s->alias_pool)
		goto oom;

	char *ap = s->alias_pool;
	size_t k = 0;
	size_t memfd_budget = nw_bodyfd_budget(cfg->max_connections);
	/* Siblings whose bytes became a form of their file come last: their
	 * resources borrow that form, final once its resource is made. */
	for (size_t pass = 0; pass < 2; pass++)
	for (size_t i = 0; i < w.n; i++) {
		struct ent *e = &w.ents[i];
		if (!e->form_of_plus1 != !pass)
			continue;
		struct nw_resource *r = &s->res[k];
		r->path = e->url;
		r->file = e->file;
		e->url = e->file = NULL;
		r->content_type = e->content_type;
		r->cache_control = nw_config_cache_control(cfg, r->path, r->content_type);
		r->mtime = e->mtime;
		r->mtime_nsec = e->mtime_nsec;
		r->ctime = e->ctime;
		r->nlink = e->nlink;
		r->modified = e->mtime;
		if (e->templated && r->modified < s->env_time)
			r->modified = s->env_time;
		if (r->modified > loaded)
			r->modified = loaded;
		nw_http_date_format(r->modified, r->last_modified);
		if (pass) {
			const struct ent *b = &w.ents[e->form_of_plus1 - 1];
			const struct nw_variant *f =
				&s->res[b->res_plus1 - 1].var[e->form_enc];

			r->size = f->len;
			r->disk_fd = -1;
			snprintf(r->etag, sizeof(r->etag), "\"%016llx\"",
				 (unsigned long long)nw_hash64(f->body, f->len));
			r->var[NW_ENC_IDENTITY] = *f;
			r->var[NW_ENC_IDENTITY].borrowed = true;
			r->var[NW_ENC_IDENTITY].server_resp = NULL;
			r->var[NW_ENC_IDENTITY].etag[0] = '\0';
			r->enc_mask = NW_ENC_BIT(NW_ENC_IDENTITY);
			s->stats.bytes += r->size;
			goto indexed;
		}
		r->size = e->size;
		r->on_disk = e->on_disk;
		r->disk_fd = e->fd_plus1 - 1;
		e->fd_plus1 = 0;
		r->is_html = nw_mime_is_html(r->content_type);
		r->templated = e->templated;
		uint64_t h = e->on_disk ? e->hash : nw_hash64(e->body, e->size);
		snprintf(r->etag, sizeof(r->etag), "\"%016llx\"", (unsigned long long)h);
		r->var[NW_ENC_IDENTITY].body = e->body;
		r->var[NW_ENC_IDENTITY].len = e->size;
		e->body = NULL;
		r->enc_mask = NW_ENC_BIT(NW_ENC_IDENTITY);
		r->sibling_mask = e->sibling_mask;
		s->stats.bytes += r->size;
		if (!r->on_disk)
			s->stats.memory_bytes += r->size;
		for (int enc = NW_ENC_GZIP; enc < NW_ENC_COUNT; enc++) {
			if (!e->var[enc])
				continue;
			r->var[enc].body = e->var[enc];
			r->var[enc].len = e->var_len[enc];
			snprintf(r->var[enc].etag, sizeof r->var[enc].etag,
				 "\"%016llx-%s\"", (unsigned long long)h,
				 nw_enc_token((enum nw_enc)enc));
			e->var[enc] = NULL;
			r->enc_mask |= NW_ENC_BIT(enc);
			s->stats.compressed_bytes += r->var[enc].len;
			s->stats.memory_bytes += r->var[enc].len;
		}
		for (int enc = 0; enc < NW_ENC_COUNT; enc++) {
			struct nw_variant *v = &r->var[enc];

			v->fd_plus1 = nw_bodyfd_seal(&v->body, (size_t)v->len,
						     memfd_budget) + 1;
		}
indexed:
		e->res_plus1 = k + 1;
		s->n_res = ++k;

		index_insert(s, r->path, (uint32_t)(k - 1));
		size_t ul = strlen(r->path);
		if (ul > ilen && r->path[ul - ilen - 1] == '/' &&
		    strcmp(r->path + ul - ilen, index) == 0) {
			memcpy(ap, r->path, ul - ilen);
			ap[ul - ilen] = '\0';
			index_insert(s, ap, (uint32_t)(k - 1));
			ap += ul - ilen + 1;
		}
	}
	for (size_t i = 0; i < w.n; i++)
		ent_free(&w.ents[i]);
	free(w.ents);
	give_back_freed_memory();

	char key[PATH_MAX];
	snprintf(key, sizeof(key), "/%s", index);
	s->index_html = nw_snapshot_lookup(s, key, strlen(key));
	s->not_found = nw_snapshot_lookup(s, "/404.html", strlen("/404.html"));
	s->stats.files = s->n_res;
	s->stats.skipped = w.skipped;
	s->stats.kept_compressed = kept;
	s->generation = atomic_fetch_add(&nw_generation, 1) + 1;
	s->stats.load_seconds = now_seconds() - t0;
	nw_debug("snapshot %llu: %zu files, %zu skipped, %.3f s (read %.3f s, compress %.3f s)",
		 (unsigned long long)s->generation, s->n_res, w.skipped,
		 s->stats.load_seconds, t1 - t0, t2 - t1);
	return s;

oom:
	snprintf(err, errlen, "loading %s: out of memory", cfg->root);
fail:
	for (size_t i = 0; i < w.n; i++)
		ent_free(&w.ents[i]);
	free(w.ents);
	free(root_real);
	snapshot_free(s);
	return NULL;
}

void nw_snapshot_ref(struct nw_snapshot *s)
{
	if (s)
		atomic_fetch_add(&s->refs, 1);
}

void nw_snapshot_unref(struct nw_snapshot *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->server_release)
		s->server_release(s);
	snapshot_free(s);
}

int nw_resource_open(const struct nw_resource *r)
{
	if (!r || !r->file) {
		errno = EINVAL;
		return -1;
	}
	if (r->on_disk && r->disk_fd >= 0) {
		/* A new open file description of the inode read at load time
		 * (its own offset), even if the path was replaced since. */
		char proc[64];
		int fd;

		snprintf(proc, sizeof proc, "/proc/self/fd/%d", r->disk_fd);
		fd = open(proc, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	return open(r->file, O_RDONLY | O_CLOEXEC);
}
