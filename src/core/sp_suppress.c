/*
 * sp_suppress.c - small-cell suppression in a hierarchy (see sp_suppress.h).
 */
#include "sp_suppress.h"

#include <stdlib.h>

const char *
sp_suppress_message(sp_suppress_status status)
{
	switch (status)
	{
		case SP_SUPPRESS_OK:
			return "no error";
		case SP_SUPPRESS_NEGATIVE:
			return "a count is below 0";
		case SP_SUPPRESS_BAD_PARENT:
			return "a parent is not another cell of the input";
		case SP_SUPPRESS_CYCLE:
			return "a cell is its own ancestor";
		case SP_SUPPRESS_BAD_K:
			return "the threshold k is below 1";
		case SP_SUPPRESS_NO_MEMORY:
			return "out of memory";
		case SP_SUPPRESS_BAD_EDGE:
			return "an edge names a cell that is not in the input, a cell as its own parent, or a hierarchy below 0";
		case SP_SUPPRESS_TWO_PARENTS:
			return "a cell has two parents in one hierarchy";
	}
	return "unknown error";
}

static void *
alloc_array(size_t n, size_t size)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / size)
		return NULL;
	return malloc(n * size);
}

static sp_suppress_status suppress_known(size_t n, const int64_t *count, const int64_t *parent, int64_t k,
										 const bool *forced, const bool *known, bool *hidden, size_t *bad);

sp_suppress_status
sp_suppress(size_t n, const int64_t *count, const int64_t *parent,
			int64_t k, const bool *forced, bool *hidden, size_t *bad)
{
	return suppress_known(n, count, parent, k, forced, NULL, hidden, bad);
}

/* sp_suppress, where known[i] (when known is not NULL) marks a cell the reader knows */
static sp_suppress_status
suppress_known(size_t n, const int64_t *count, const int64_t *parent, int64_t k,
			   const bool *forced, const bool *known, bool *hidden, size_t *bad)
{
	size_t	   *first = NULL;	/* children of p: child[first[p] .. first[p + 1]) */
	size_t	   *child = NULL;
	size_t	   *order = NULL;	/* cells, roots first, each after its parent */
	size_t	   *fill = NULL;
	bool	   *seen = NULL;
	size_t		head,
				tail,
				i;
	bool		upward;
	sp_suppress_status status = SP_SUPPRESS_OK;

	if (k < 1)
		return SP_SUPPRESS_BAD_K;
	for (i = 0; i < n; i++)
	{
		if (count[i] < 0)
		{
			if (bad)
				*bad = i;
			return SP_SUPPRESS_NEGATIVE;
		}
		if (parent[i] < -1 || parent[i] == (int64_t) i || (parent[i] >= 0 && (uint64_t) parent[i] >= (uint64_t) n))
		{
			if (bad)
				*bad = i;
			return SP_SUPPRESS_BAD_PARENT;
		}
	}
	if (n == SIZE_MAX)
		return SP_SUPPRESS_NO_MEMORY;
	first = alloc_array(n + 1, sizeof(size_t));
	child = alloc_array(n, sizeof(size_t));
	order = alloc_array(n, sizeof(size_t));
	fill = alloc_array(n, sizeof(size_t));
	seen = alloc_array(n, sizeof(bool));
	if (!first || !child || !order || !fill || !seen)
	{
		status = SP_SUPPRESS_NO_MEMORY;
		goto done;
	}

	/* children lists, each in input order (a counting sort by parent) */
	for (i = 0; i <= n; i++)
		first[i] = 0;
	for (i = 0; i < n; i++)
		if (parent[i] >= 0)
			first[parent[i] + 1]++;
	for (i = 0; i < n; i++)
		first[i + 1] += first[i];
	for (i = 0; i < n; i++)
		fill[i] = first[i];
	for (i = 0; i < n; i++)
		if (parent[i] >= 0)
			child[fill[parent[i]]++] = i;

	/* breadth first from the roots: a parent's state is final before its children are looked at */
	tail = 0;
	for (i = 0; i < n; i++)
	{
		seen[i] = false;
		if (parent[i] < 0)
		{
			order[tail++] = i;
			seen[i] = true;
		}
	}
	for (head = 0; head < tail; head++)
	{
		size_t		p = order[head],
					c;

		for (c = first[p]; c < first[p + 1]; c++)
		{
			order[tail++] = child[c];
			seen[child[c]] = true;
		}
	}
	if (tail < n)
	{
		/* what the roots do not reach hangs on a cycle */
		for (i = 0; i < n; i++)
			if (!seen[i])
			{
				if (bad)
					*bad = i;
				break;
			}
		status = SP_SUPPRESS_CYCLE;
		goto done;
	}

	for (i = 0; i < n; i++)
		hidden[i] = !(known && known[i]) && ((count[i] > 0 && count[i] < k) || (forced && forced[i]));

	do
	{
		upward = false;
		for (head = 0; head < n; head++)
		{
		size_t		p = order[head];

		if (first[p] == first[p + 1])
			continue;
		for (;;)
		{
			size_t		n_hidden = 0,
						c,
						pick = SIZE_MAX;
			int64_t		hidden_sum = 0;
			bool		need;

			for (c = first[p]; c < first[p + 1]; c++)
			{
				size_t		x = child[c];

				if (hidden[x])
				{
					n_hidden++;
					/* only compared with k: saturate there */
					hidden_sum = (count[x] >= k - hidden_sum) ? k : hidden_sum + count[x];
				}
				/* (under a known parent, a 0 beside a withheld count gives it back: it may go too) */
				else if ((count[x] > 0 || (known && known[p])) && !(known && known[x]) && (pick == SIZE_MAX || count[x] < count[pick]))
					pick = x;
			}
			if (hidden[p])
				need = count[p] > 0 && n_hidden == 0;
			else
				need = n_hidden == 1 || (n_hidden >= 1 && hidden_sum < k);
			if (!need)
				break;
			if (pick == SIZE_MAX)
			{
				/*
				 * No other child left to withhold: the shown parent gives
				 * the withheld ones back (its other children are 0; a cell
				 * withheld by another hierarchy can equal its parent here).
				 * The parent goes too, and the groups above it are looked
				 * at again.
				 */
				if (!hidden[p] && hidden_sum > 0 && count[p] > 0 && !(known && known[p]))
				{
					hidden[p] = true;
					upward = true;
				}
				break;
			}
			hidden[pick] = true;
		}
		}
	} while (upward);

done:
	free(first);
	free(child);
	free(order);
	free(fill);
	free(seen);
	return status;
}

typedef struct edge_ref
{
	int64_t		hierarchy;
	size_t		e;
} edge_ref;

static int
edge_ref_cmp(const void *a, const void *b)
{
	const edge_ref *x = a;
	const edge_ref *y = b;

	if (x->hierarchy != y->hierarchy)
		return x->hierarchy < y->hierarchy ? -1 : 1;
	return x->e < y->e ? -1 : (x->e > y->e ? 1 : 0);
}

static size_t
count_hidden(size_t n, const bool *hidden)
{
	size_t		i,
				c = 0;

	for (i = 0; i < n; i++)
		c += hidden[i] ? 1 : 0;
	return c;
}

sp_suppress_status
sp_suppress_multi(size_t n, const int64_t *count, size_t n_edges,
				  const int64_t *edge_child, const int64_t *edge_parent,
				  const int64_t *edge_hierarchy, int64_t k, const bool *known, bool *hidden,
				  size_t *bad, size_t *rounds)
{
	edge_ref   *refs = NULL;
	int64_t    *parent = NULL;
	size_t		i,
				e,
				round = 0;
	sp_suppress_status status = SP_SUPPRESS_OK;

	if (rounds)
		*rounds = 0;
	if (k < 1)
		return SP_SUPPRESS_BAD_K;
	for (i = 0; i < n; i++)
		if (count[i] < 0)
		{
			if (bad)
				*bad = i;
			return SP_SUPPRESS_NEGATIVE;
		}
	for (e = 0; e < n_edges; e++)
		if (edge_child[e] < 0 || edge_parent[e] < 0 || (uint64_t) edge_child[e] >= (uint64_t) n ||
			(uint64_t) edge_parent[e] >= (uint64_t) n || edge_child[e] == edge_parent[e] || edge_hierarchy[e] < 0)
		{
			if (bad)
				*bad = e;
			return SP_SUPPRESS_BAD_EDGE;
		}
	refs = alloc_array(n_edges, sizeof(edge_ref));
	parent = alloc_array(n, sizeof(int64_t));
	if (!refs || !parent)
	{
		status = SP_SUPPRESS_NO_MEMORY;
		goto done;
	}
	for (e = 0; e < n_edges; e++)
	{
		refs[e].hierarchy = edge_hierarchy[e];
		refs[e].e = e;
	}
	if (n_edges > 1)
		qsort(refs, n_edges, sizeof(edge_ref), edge_ref_cmp);
	for (i = 0; i < n; i++)
		parent[i] = -1;

	/* primary suppression alone (also when there is no edge at all) */
	status = suppress_known(n, count, parent, k, NULL, known, hidden, bad);
	if (status != SP_SUPPRESS_OK)
		goto done;
	for (;;)
	{
		size_t		before = count_hidden(n, hidden);

		round++;
		for (e = 0; e < n_edges;)
		{
			size_t		end = e,
						j;

			while (end < n_edges && refs[end].hierarchy == refs[e].hierarchy)
			{
				size_t		x = refs[end].e;

				if (parent[edge_child[x]] >= 0)
				{
					if (bad)
						*bad = x;
					status = SP_SUPPRESS_TWO_PARENTS;
					goto done;
				}
				parent[edge_child[x]] = edge_parent[x];
				end++;
			}
			/* hidden is both what is forced and the result: each cell is read before it is written */
			status = suppress_known(n, count, parent, k, hidden, known, hidden, bad);
			for (j = e; j < end; j++)
				parent[edge_child[refs[j].e]] = -1;
			if (status != SP_SUPPRESS_OK)
				goto done;
			e = end;
		}
		if (count_hidden(n, hidden) == before)
			break;
	}
	if (rounds)
		*rounds = round;

done:
	free(refs);
	free(parent);
	return status;
}
