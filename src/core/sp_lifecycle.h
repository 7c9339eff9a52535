/*
 * sp_lifecycle.h - a lifecycle (the states a record may be in and the moves
 * allowed between them) parsed from a compact text spec, so that a trigger
 * can enforce it without a round trip through SQL for every row.
 *
 * Spec: clauses separated by ';', each "from>to|to|...", whitespace
 * ignored.  Example: "created>approved|cancelled; approved>sent; sent>paid|failed".
 * A state that only ever appears as a target is final.  State names are
 * 1..SP_LIFECYCLE_NAME_MAX bytes of [a-z0-9_].
 *
 * Pure C (no postgres.h): unit-tested standalone in test/unit.
 */
#ifndef SP_LIFECYCLE_H
#define SP_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#define SP_LIFECYCLE_MAX_STATES 32
#define SP_LIFECYCLE_NAME_MAX 40

typedef struct sp_lifecycle
{
	int			nstates;
	char		states[SP_LIFECYCLE_MAX_STATES][SP_LIFECYCLE_NAME_MAX + 1];
	/* allowed[from] has bit `to` set when from -> to is allowed */
	unsigned int allowed[SP_LIFECYCLE_MAX_STATES];
	/* the order states were first named in, for describing the spec */
	bool		has_moves[SP_LIFECYCLE_MAX_STATES];
} sp_lifecycle;

/*
 * Parse spec[0..len) into *out.  Returns true on success; on failure writes
 * a message (no trailing period) into err[0..errlen) and returns false.
 */
bool		sp_lifecycle_parse(const char *spec, size_t len, sp_lifecycle *out,
							   char *err, size_t errlen);

/* Index of state name[0..len), or -1 when the lifecycle does not know it. */
int			sp_lifecycle_state(const sp_lifecycle *lc, const char *name, size_t len);

/* Whether from -> to is allowed (indexes from sp_lifecycle_state; -1 never). */
bool		sp_lifecycle_allows(const sp_lifecycle *lc, int from, int to);

/*
 * "created -> approved | cancelled; approved -> sent": the allowed moves,
 * in the spec's order, into buf[0..buflen) (always NUL-terminated when
 * buflen > 0).  Returns the length the full text needs, like snprintf.
 */
size_t		sp_lifecycle_describe(const sp_lifecycle *lc, char *buf, size_t buflen);

#endif							/* SP_LIFECYCLE_H */
