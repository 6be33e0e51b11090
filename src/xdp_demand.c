#include "xdp_demand.h"
#include <stdlib.h>

struct nw_xdp_demand *nw_xdp_demand_new(size_t n)
{
	/* largest members first: each array stays aligned */
	size_t bytes = sizeof(struct nw_xdp_demand) + n * sizeof(uint64_t) +
		       n * sizeof(_Atomic uint32_t) +
		       2 * n * sizeof(_Atomic uint16_t);
	struct nw_xdp_demand *d = calloc(1, bytes);

	if (!d)
		return NULL;
	d->n = n;
	d->score = (uint64_t *)(d + 1);
	d->count = (_Atomic uint32_t *)(d->score + n);
	d->asked = (_Atomic uint16_t *)(d->count + n);
	d->cached = d->asked + n;
	for (size_t i = 0; i < n; i++)
		atomic_init(&d->cached[i], 0xffff);
	return d;
}

void nw_xdp_demand_free(struct nw_xdp_demand *d)
{
	free(d);
}

void nw_xdp_demand_rescore(struct nw_xdp_demand *d)
{
	atomic_store_explicit(&d->pending, 0, memory_order_relaxed);
	for (size_t i = 0; i < d->n; i++) {
		uint32_t c = atomic_exchange_explicit(&d->count[i], 0,
						      memory_order_relaxed);

		d->score[i] = c ? d->score[i] / 2 + c : d->score[i] * 7 / 8;
	}
}

long nw_xdp_demand_next_interval(long interval_ms, double last_rate,
				 double rate)
{
	if (last_rate <= 0 || rate * 2 <= last_rate)
		return NW_XDP_PUSH_MS;
	return interval_ms * 2 < NW_XDP_PUSH_MAX_MS ? interval_ms * 2 :
						      NW_XDP_PUSH_MAX_MS;
}
