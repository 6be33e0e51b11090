/*
 * What the kernel cache should hold when it cannot hold the whole site.
 *
 * nano-web pushes the shallowest paths first. When the helper's cache fills
 * up before the site is in, the answers left out are given by nano-web
 * itself; the HTTP layer counts those requests here, per resource, and
 * notes which answers (method and coding) were asked for. The kernel path
 * client then pushes the site again now and then with the resources in
 * demand first, and of those only the answers asked for (xdp_client.c).
 * Pure bookkeeping: no I/O.
 *
 * XDP's own hits are not visible here, so a resource in the cache keeps the
 * score it had when it went in, slowly decaying; a resource left out gains
 * what it was asked for since the last push. Ordered by score, the cache
 * ends up holding what is asked for most.
 */
#ifndef NW_XDP_DEMAND_H
#define NW_XDP_DEMAND_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nw_xdp_demand {
	size_t n;                  /* resources (the snapshot's n_res) */
	_Atomic uint64_t pending;  /* the sum of count[] */
	uint64_t *score;           /* push priority; the client thread only */
	_Atomic uint32_t *count;   /* requests for answers not in the cache
				    * since the last push */
	_Atomic uint16_t *asked;   /* answers asked for (nw_xdp_answer_bit) */
	_Atomic uint16_t *cached;  /* answers in the cache, or that cannot be */
};

/* The kinds of answer, numbered as NWX_METHOD_GET, _HEAD and _NM (304). */
enum nw_xdp_answer { NW_XDP_GET = 0, NW_XDP_HEAD = 1, NW_XDP_NM = 2 };

/* One answer of a resource: its kind and content coding (0-3). */
static inline unsigned nw_xdp_answer_bit(unsigned method, unsigned enc)
{
	return 1u << (method * 4 + enc);
}

/* One allocation; every answer counts as cached and nothing has a score. */
struct nw_xdp_demand *nw_xdp_demand_new(size_t n);
void nw_xdp_demand_free(struct nw_xdp_demand *d);

/* nano-web gave answer `bit` of resource i itself (any thread). */
static inline void nw_xdp_demand_note(struct nw_xdp_demand *d, size_t i,
				      unsigned bit)
{
	if (i >= d->n ||
	    (atomic_load_explicit(&d->cached[i], memory_order_relaxed) & bit))
		return;
	atomic_fetch_add_explicit(&d->count[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&d->pending, 1, memory_order_relaxed);
	if (!(atomic_load_explicit(&d->asked[i], memory_order_relaxed) & bit))
		atomic_fetch_or_explicit(&d->asked[i], (uint16_t)bit,
					 memory_order_relaxed);
}

/*
 * When to push again: at least NW_XDP_PUSH_MS after the last push. While
 * pushes do not halve the rate of requests for answers left out (a site
 * whose traffic spreads over more than the cache holds), the interval
 * doubles, up to NW_XDP_PUSH_MAX_MS; a push that does brings it back.
 * rate: those requests per second before this push; last_rate: before the
 * previous one (0: none). Returns the interval after this push.
 */
#define NW_XDP_PUSH_MS 5000
#define NW_XDP_PUSH_MAX_MS 300000
long nw_xdp_demand_next_interval(long interval_ms, double last_rate,
				 double rate);

/* Requests for answers not in the cache since the last rescore. */
static inline uint64_t nw_xdp_demand_pending(const struct nw_xdp_demand *d)
{
	return atomic_load_explicit(&d->pending, memory_order_relaxed);
}

/* Folds the counts into the scores and zeroes them: a resource asked for
 * keeps half its score plus its count, any other loses an eighth. */
void nw_xdp_demand_rescore(struct nw_xdp_demand *d);

static inline uint64_t nw_xdp_demand_score(const struct nw_xdp_demand *d,
					   size_t i)
{
	return d && i < d->n ? d->score[i] : 0;
}

/* The answers of resource i that were ever asked for (bits). */
static inline unsigned nw_xdp_demand_asked(const struct nw_xdp_demand *d,
					   size_t i)
{
	return d && i < d->n ?
		atomic_load_explicit(&d->asked[i], memory_order_relaxed) : 0;
}

static inline void nw_xdp_demand_set_cached(struct nw_xdp_demand *d, size_t i,
					    unsigned bits)
{
	if (i < d->n)
		atomic_store_explicit(&d->cached[i], (uint16_t)bits,
				      memory_order_relaxed);
}

#endif
