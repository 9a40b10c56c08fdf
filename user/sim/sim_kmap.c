/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_kmap.c - the simulator's key -> entry map (sim_kmap.h).  No hash
 * seed: the simulator must print the same numbers for the same input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_kmap.h"

static uint64_t kmap_hash(const struct mxt_key *k)
{
	uint32_t w[5];
	uint64_t h = 0x243f6a8885a308d3ULL;
	int i;

	memcpy(w, k, sizeof(w));
	for (i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h;
}

int sim_kmap_init(struct sim_kmap *m, size_t cap)
{
	m->cap = cap;
	m->n = 0;
	m->e = calloc(cap, sizeof(*m->e));
	m->usedlist = malloc(cap * sizeof(*m->usedlist));
	return m->e && m->usedlist ? 0 : -ENOMEM;
}

void sim_kmap_free(struct sim_kmap *m)
{
	free(m->e);
	free(m->usedlist);
	m->e = NULL;
	m->usedlist = NULL;
}

long sim_kmap_find(const struct sim_kmap *m, const struct mxt_key *k)
{
	size_t i;

	if (!m->cap)
		return -1;
	i = kmap_hash(k) % m->cap;
	while (m->e[i].used) {
		if (memcmp(&m->e[i].key, k, sizeof(*k)) == 0)
			return (long)i;
		if (++i == m->cap)
			i = 0;
	}
	return -1;
}

long sim_kmap_insert(struct sim_kmap *m, const struct mxt_key *k)
{
	size_t i;

	if (!m->cap || m->n * 4 >= m->cap * 3)
		return -1;
	i = kmap_hash(k) % m->cap;
	while (m->e[i].used)
		if (++i == m->cap)
			i = 0;
	memset(&m->e[i], 0, sizeof(m->e[i]));
	m->e[i].key = *k;
	m->e[i].used = 1;
	m->usedlist[m->n++] = i;
	return (long)i;
}

void sim_kmap_delete(struct sim_kmap *m, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t home;

		j = j + 1 == m->cap ? 0 : j + 1;
		if (!m->e[j].used)
			break;
		home = kmap_hash(&m->e[j].key) % m->cap;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->e[i] = m->e[j];
			i = j;
		}
	}
	m->e[i].used = 0;
	m->n--;
}

void sim_kmap_clear(struct sim_kmap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		m->e[m->usedlist[i]].used = 0;
	m->n = 0;
}
