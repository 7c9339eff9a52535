/*
 * linkage_fixture.h - specs and records built by hand for the unit tests of
 * the linkage engine (what src/pg/linkage_spec.c and linkage_records.c do
 * from JSON and SPI in the server).
 */
#ifndef SP_LINKAGE_FIXTURE_H
#define SP_LINKAGE_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "sp_name.h"
#include "sp_records.h"

static inline int
fx_column(sp_link_spec *spec, const char *name, sp_link_normalize norm, bool is_date)
{
	sp_link_column *col = &spec->columns[spec->ncolumns];

	col->name = (char *) name;
	col->normalize = norm;
	col->is_date = is_date;
	col->present = true;
	col->attno = spec->ncolumns + 2;
	return spec->ncolumns++;
}

/* A comparison as linkage_parse_spec sets it up (thresholds: nthresholds of them). */
static inline int
fx_comparison(sp_link_spec *spec, const char *name, int column, sp_link_method method,
			  int nthresholds, const double *thresholds, bool phonetic)
{
	sp_link_comparison *cmp = &spec->comparisons[spec->ncomparisons];

	memset(cmp, 0, sizeof(*cmp));
	cmp->name = (char *) name;
	cmp->column = column;
	cmp->method = method;
	cmp->normalize = spec->columns[column].normalize;
	cmp->nthresholds = nthresholds;
	for (int k = 0; k < nthresholds; k++)
		cmp->thresholds[k] = thresholds[k];
	cmp->phonetic = phonetic;
	cmp->swap_with = -1;
	cmp->nlevels = method == SP_METHOD_DATE ? SP_DATE_NLEVELS :
		method == SP_METHOD_EXACT ? nthresholds + 2 : nthresholds + 2 + (phonetic ? 1 : 0);
	cmp->present = true;
	for (int l = 0; l < SP_FS_MAX_LEVELS; l++)
		cmp->m_max[l] = 1.0;
	return spec->ncomparisons++;
}

static inline void
fx_spec(sp_link_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->anchor = -1;
}

/* n records with ids 1..n and every value missing. */
static inline void
fx_records(sp_records *r, int64_t n, int ncolumns)
{
	memset(r, 0, sizeof(*r));
	r->n = n;
	r->ids = calloc((size_t) (n ? n : 1), sizeof(int64_t));
	r->values = calloc((size_t) (n ? n : 1) * (size_t) (ncolumns ? ncolumns : 1), sizeof(sp_value));
	r->arena_size = 1 << 16;
	r->arena = malloc(r->arena_size);
	for (int64_t i = 0; i < n; i++)
	{
		r->ids[i] = i + 1;
		for (int c = 0; c < ncolumns; c++)
			r->values[i * ncolumns + c].isnull = true;
	}
}

static inline uint32_t
fx_arena_put(sp_records *r, const char *s, size_t len)
{
	uint32_t	at = (uint32_t) r->arena_used;

	while (r->arena_used + len > r->arena_size)
	{
		r->arena_size *= 2;
		r->arena = realloc(r->arena, r->arena_size);
	}
	memcpy(r->arena + r->arena_used, s, len);
	r->arena_used += len;
	return at;
}

/*
 * A prepared text value of record i (s as the glue would store it: names
 * normalised already); names also get the phonetic key of the whole name,
 * spaces left out, as linkage_records.c computes it.
 */
static inline void
fx_text(const sp_link_spec *spec, sp_records *r, int64_t i, int column, const char *s)
{
	sp_value   *v = &r->values[i * spec->ncolumns + column];
	size_t		len = strlen(s);

	if (len == 0)
	{
		v->isnull = true;
		return;
	}
	v->isnull = false;
	v->offset = fx_arena_put(r, s, len);
	v->len = (uint16_t) len;
	v->key_len = 0;
	if (spec->columns[column].normalize == SP_NORM_NAME)
	{
		char	   *joined = malloc(len + 1);
		char	   *key = malloc(2 * len + 2);
		size_t		jl = 0,
					kl;

		for (size_t k = 0; k < len; k++)
			if (s[k] != ' ')
				joined[jl++] = s[k];
		kl = sp_name_key(joined, jl, key);
		v->key_offset = fx_arena_put(r, key, kl);
		v->key_len = (uint16_t) kl;
		free(joined);
		free(key);
	}
}

static inline void
fx_date(const sp_link_spec *spec, sp_records *r, int64_t i, int column, const char *s)
{
	sp_value   *v = &r->values[i * spec->ncolumns + column];

	memset(&v->date, 0, sizeof(v->date));
	v->isnull = sp_parse_linkage_date(s, strlen(s), &v->date) != 0;
}

static inline void
fx_free(sp_records *r)
{
	free(r->ids);
	free(r->values);
	free(r->arena);
	free(r->keys);
	free(r->refine_level);
	memset(r, 0, sizeof(*r));
}

#endif							/* SP_LINKAGE_FIXTURE_H */
