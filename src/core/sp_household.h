/*
 * sp_household.h - household context of record pairs.
 *
 * When a household registers twice, its members are duplicated together:
 * if the mother's two records match, her children's records very likely
 * match too, even with a misspelt name or a year-only birth date; and two
 * namesakes from households that have nothing else in common are likely
 * different people.  Records carry a group (the household as registered
 * together, the registration_group column).  Pairs of groups joined by a
 * confident pair are examined whole: every member of one against every
 * member of the other, each member matched to at most one (the greedy
 * one-to-one assignment by weight).  A pair's household level is then
 *
 *   LINKED    assigned in its two groups, strictly heavier than every
 *             other pair of its two records with the other group (a tie,
 *             as between twins both spelt anew, is no assignment), and
 *             another assigned pair of the same two groups is confident
 *             (the household as a whole re-registered);
 *   UNLINKED  both records have other members, but not so;
 *   ALONE     a record has no group or is alone in it (no context).
 *
 * Training estimates each level's m and u; scoring adds their weight.
 *
 * Pure C (no postgres.h), unit-tested in test/unit.
 */
#ifndef SP_HOUSEHOLD_H
#define SP_HOUSEHOLD_H

#include "sp_records.h"

typedef enum sp_hh_level
{
	SP_HH_LINKED = 0,
	SP_HH_UNLINKED = 1,
	SP_HH_ALONE = 2
} sp_hh_level;

#define SP_HH_LEVELS 3

/* Members of two groups compared whole at most: larger pairs of groups keep their plain level. */
#define SP_HH_MAX_CELLS 1024

/* The groups of one side's records. */
typedef struct sp_groups
{
	int64_t		n;				/* records */
	int64_t		ngroups;
	int64_t    *group_of;		/* per record: its group, or -1 when the value is missing */
	int64_t    *start;			/* ngroups + 1 offsets into members */
	int64_t    *members;		/* record indexes, group by group, ascending */
} sp_groups;

/*
 * Groups of records by the prepared value of column: records with equal
 * values (bytes) share a group.  Groups are numbered by their smallest
 * record index, whatever the hash order.  Returns SP_LINK_OK or
 * SP_LINK_NO_MEMORY.
 */
int			sp_groups_build(const sp_link_spec *spec, const sp_records *r, int column, sp_groups *g,
							const sp_link_env *env);
void		sp_groups_free(sp_groups *g, const sp_link_env *env);

static inline int64_t
sp_group_size(const sp_groups *g, int64_t i)
{
	int64_t		k = g->group_of[i];

	return k < 0 ? 0 : g->start[k + 1] - g->start[k];
}

/*
 * Level of a pair no examined pair of groups covers: ALONE when a record
 * has no group or is alone in it, else UNLINKED.
 */
sp_hh_level sp_hh_plain_level(const sp_groups *ga, int64_t i, const sp_groups *gb, int64_t j);

/* A pair of records: i of the left side, j of the right. */
typedef struct sp_hh_pair
{
	int64_t		i;
	int64_t		j;
} sp_hh_pair;

/*
 * The pair as kept in sorted lists: in dedup (one relation) the smaller
 * index first, so that (i, j) and (j, i) are one pair.
 */
static inline sp_hh_pair
sp_hh_pair_of(int64_t i, int64_t j, bool dedup)
{
	sp_hh_pair	p = {i, j};

	if (dedup && i > j)
	{
		p.i = j;
		p.j = i;
	}
	return p;
}

/* qsort/bsearch order of pairs (and of structs that begin with one): by i, then j. */
int			sp_hh_pair_cmp(const void *a, const void *b);

/* Weight of records i and j (prior, comparisons and evidence), without household context. */
typedef double (*sp_hh_weight_fn) (int64_t i, int64_t j, void *arg);

/* A pair of records of an examined pair of groups: its weight, level, and whether the one-to-one assignment chose it. */
typedef void (*sp_hh_cell_fn) (int64_t i, int64_t j, double weight, sp_hh_level level, bool assigned, void *arg);

typedef struct sp_hh_stats
{
	int64_t		group_pairs;	/* pairs of groups examined */
	int64_t		cells;			/* record pairs weighed in them */
	int64_t		linked;			/* of which LINKED */
	int64_t		group_pairs_too_large;	/* joined, but more than SP_HH_MAX_CELLS cells: not examined */
} sp_hh_stats;

/*
 * Every pair of groups that links joins (dedup: one set of groups, pairs of
 * groups unordered, a group never with itself; records without a group are
 * ignored), examined whole: each cell weighed with weight(), assigned one
 * to one, and handed to cell() with its level.  A cell is confident when
 * its weight is at least confident.  Within a
 * pair of groups cells come in ascending (i, j); in dedup i is in the group
 * of the smaller number.  Returns SP_LINK_OK or SP_LINK_NO_MEMORY.
 */
int			sp_household_cells(const sp_groups *ga, const sp_groups *gb, bool dedup, sp_hh_pair *links,
							   int64_t nlinks, double confident, sp_hh_weight_fn weight, sp_hh_cell_fn cell,
							   void *arg, sp_hh_stats *stats, const sp_link_env *env);

/* The household levels' names, for explanations and params. */
const char *sp_hh_level_name(sp_hh_level level);

#endif							/* SP_HOUSEHOLD_H */
