/*
 * sp_suppress.h - small-cell suppression of counts published in a
 * hierarchy (country, regions, districts; or a total and its breakdown).
 *
 * Each cell has a count and at most one parent cell: the count of the same
 * measure for the enclosing group.  A cell is withheld when:
 *   primary:   its count is 1 .. k - 1;
 *   secondary: going down from the roots, for the children of each parent:
 *     - the parent withheld (with a count above 0) and no child withheld:
 *       the smallest child with a count above 0 is withheld (else the
 *       children would add up to the parent);
 *     - the parent shown and one child withheld, or several whose counts add
 *       up to less than k: the smallest other child with a count above 0 is
 *       withheld, again until that no longer holds (else the parent less the
 *       others would give them back);
 *     - the parent shown, children withheld as above, and no other child
 *       left with a count above 0 to withhold: the parent is withheld too
 *       (it equals what is withheld under it: a cell withheld by another
 *       hierarchy can equal its parent in this one), and the groups above
 *       it are looked at again.
 * Ties between equal counts go to the child that comes first in the input,
 * so the caller decides the order (e.g. by P-code) and the result does not
 * depend on anything else.  Zero counts are never withheld.
 *
 * Pure C (no postgres.h): unit-tested standalone in test/unit.
 */
#ifndef SP_SUPPRESS_H
#define SP_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sp_suppress_status
{
	SP_SUPPRESS_OK = 0,
	SP_SUPPRESS_NEGATIVE,		/* a count below 0 (at *bad) */
	SP_SUPPRESS_BAD_PARENT,		/* a parent index out of range or the cell itself (at *bad) */
	SP_SUPPRESS_CYCLE,			/* a cell is its own ancestor (at *bad) */
	SP_SUPPRESS_BAD_K,			/* k below 1 */
	SP_SUPPRESS_NO_MEMORY,
	SP_SUPPRESS_BAD_EDGE,		/* an edge's cell out of range, its own parent, or a hierarchy below 0 (edge at *bad) */
	SP_SUPPRESS_TWO_PARENTS		/* a cell with two parents in one hierarchy (edge at *bad) */
} sp_suppress_status;

/*
 * n cells: count[i] and parent[i] (index of the parent cell, -1 for none).
 * Writes hidden[0..n).  forced (may be NULL) lists cells withheld whatever
 * their count, e.g. by an earlier pass over another hierarchy of the same
 * cells: passes alternated until nothing changes protect a table that adds
 * up two ways.  On an error, *bad (when not NULL) is the index of the
 * offending cell and hidden[] is unspecified.
 */
sp_suppress_status sp_suppress(size_t n, const int64_t *count, const int64_t *parent,
							   int64_t k, const bool *forced, bool *hidden, size_t *bad);

/*
 * A table that adds up along several hierarchies at once (areas to their
 * parent area; categories to the area's total; a count nested in another
 * and its complement to that other): edge e says that cell edge_child[e]
 * is a part of cell edge_parent[e] in hierarchy edge_hierarchy[e] (any
 * number from 0; a cell has at most one parent per hierarchy).  The rules
 * of sp_suppress are applied over each hierarchy in turn, in increasing
 * order of its number, round after round until a round withholds nothing
 * new; withheld cells only ever grow, so this ends after at most n rounds.
 * known (may be NULL) marks the cells the reader knows already (counts
 * they can make from records they read): never withheld, never picked to
 * protect another, and counted as shown (a known parent is never withheld
 * to protect its children, so the others are).  Writes hidden[0..n) and,
 * when rounds is not NULL, the rounds made.  On an error, *bad is the
 * offending cell (negative count, cycle) or edge.
 */
sp_suppress_status sp_suppress_multi(size_t n, const int64_t *count, size_t n_edges,
									 const int64_t *edge_child, const int64_t *edge_parent,
									 const int64_t *edge_hierarchy, int64_t k, const bool *known,
									 bool *hidden, size_t *bad, size_t *rounds);

/* "a count is below 0", ...: a message for a status, without a period. */
const char *sp_suppress_message(sp_suppress_status status);

#endif
