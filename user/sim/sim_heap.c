/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_heap.c - the simulator's event queue: a binary min-heap ordered by
 * (time, push order), so equal times replay in a fixed order.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim_int.h"

static int ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

int sim_heap_push(struct sim_heap *h, struct sim_ev e)
{
	size_t i;

	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 1024;
		struct sim_ev *nh = realloc(h->ev, nc * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		h->ev = nh;
		h->cap = nc;
	}
	e.seq = h->seq++;
	i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!ev_before(&e, &h->ev[p]))
			break;
		h->ev[i] = h->ev[p];
		i = p;
	}
	h->ev[i] = e;
	return 0;
}

struct sim_ev sim_heap_pop(struct sim_heap *h)
{
	struct sim_ev top = h->ev[0], last = h->ev[--h->n];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct sim_ev *best = &last;

		if (l < h->n && ev_before(&h->ev[l], best)) {
			m = l;
			best = &h->ev[l];
		}
		if (r < h->n && ev_before(&h->ev[r], best))
			m = r;
		if (m == i)
			break;
		h->ev[i] = h->ev[m];
		i = m;
	}
	if (h->n)
		h->ev[i] = last;
	return top;
}

void sim_heap_free(struct sim_heap *h)
{
	free(h->ev);
	h->ev = NULL;
	h->n = h->cap = 0;
}
