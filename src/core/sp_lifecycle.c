/*
 * sp_lifecycle.c - lifecycles parsed from a text spec (see sp_lifecycle.h).
 */
#include "sp_lifecycle.h"

#include <stdio.h>
#include <string.h>

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int
sp_lifecycle_state(const sp_lifecycle *lc, const char *name, size_t len)
{
	if (lc == NULL || name == NULL || len == 0 || len > SP_LIFECYCLE_NAME_MAX)
		return -1;
	for (int i = 0; i < lc->nstates; i++)
		if (strncmp(lc->states[i], name, len) == 0 && lc->states[i][len] == '\0')
			return i;
	return -1;
}

bool
sp_lifecycle_allows(const sp_lifecycle *lc, int from, int to)
{
	if (lc == NULL || from < 0 || to < 0 || from >= lc->nstates || to >= lc->nstates)
		return false;
	return (lc->allowed[from] >> to) & 1u;
}

/* The state named s[0..len), added when new; -1 (and err) when it cannot be. */
static int
intern_state(sp_lifecycle *lc, const char *s, size_t len, char *err, size_t errlen)
{
	int			i;

	if (len == 0)
	{
		snprintf(err, errlen, "a state name is missing");
		return -1;
	}
	if (len > SP_LIFECYCLE_NAME_MAX)
	{
		snprintf(err, errlen, "state name \"%.*s...\" is longer than %d bytes",
				 20, s, SP_LIFECYCLE_NAME_MAX);
		return -1;
	}
	for (size_t k = 0; k < len; k++)
		if (!is_name_char(s[k]))
		{
			snprintf(err, errlen, "state name \"%.*s\" has a character other than a-z, 0-9 or _",
					 (int) len, s);
			return -1;
		}
	i = sp_lifecycle_state(lc, s, len);
	if (i >= 0)
		return i;
	if (lc->nstates >= SP_LIFECYCLE_MAX_STATES)
	{
		snprintf(err, errlen, "more than %d states", SP_LIFECYCLE_MAX_STATES);
		return -1;
	}
	i = lc->nstates++;
	memcpy(lc->states[i], s, len);
	lc->states[i][len] = '\0';
	lc->allowed[i] = 0;
	lc->has_moves[i] = false;
	return i;
}

/* The next name from *pos (whitespace skipped) up to one of the stop characters. */
static void
next_name(const char *spec, size_t len, size_t *pos, size_t *start, size_t *nlen, const char *stops)
{
	size_t		p = *pos;

	while (p < len && is_space(spec[p]))
		p++;
	*start = p;
	while (p < len && strchr(stops, spec[p]) == NULL && !is_space(spec[p]))
		p++;
	*nlen = p - *start;
	while (p < len && is_space(spec[p]))
		p++;
	*pos = p;
}

bool
sp_lifecycle_parse(const char *spec, size_t len, sp_lifecycle *out, char *err, size_t errlen)
{
	size_t		pos = 0;
	char		dummy[1];

	if (err == NULL || errlen == 0)
	{
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (out == NULL || spec == NULL)
	{
		snprintf(err, errlen, "no lifecycle given");
		return false;
	}
	memset(out, 0, sizeof(*out));
	while (pos < len)
	{
		size_t		start,
					nlen;
		int			from;

		next_name(spec, len, &pos, &start, &nlen, ">;|");
		if (nlen == 0 && pos < len && spec[pos] == ';')
		{
			pos++;				/* an empty clause */
			continue;
		}
		if (nlen == 0 && pos >= len)
			break;
		from = intern_state(out, spec + start, nlen, err, errlen);
		if (from < 0)
			return false;
		if (pos >= len || spec[pos] != '>')
		{
			snprintf(err, errlen, "\">\" expected after state \"%s\"", out->states[from]);
			return false;
		}
		if (out->has_moves[from])
		{
			snprintf(err, errlen, "state \"%s\" has two clauses", out->states[from]);
			return false;
		}
		out->has_moves[from] = true;
		pos++;
		for (;;)
		{
			int			to;

			next_name(spec, len, &pos, &start, &nlen, ">;|");
			to = intern_state(out, spec + start, nlen, err, errlen);
			if (to < 0)
				return false;
			if (to == from)
			{
				snprintf(err, errlen, "state \"%s\" cannot move to itself", out->states[from]);
				return false;
			}
			out->allowed[from] |= 1u << to;
			if (pos < len && spec[pos] == '|')
			{
				pos++;
				continue;
			}
			if (pos < len && spec[pos] == ';')
				pos++;
			else if (pos < len)
			{
				snprintf(err, errlen, "unexpected \"%c\" after state \"%s\"", spec[pos], out->states[to]);
				return false;
			}
			break;
		}
	}
	if (out->nstates == 0)
	{
		snprintf(err, errlen, "the lifecycle has no states");
		return false;
	}
	return true;
}

size_t
sp_lifecycle_describe(const sp_lifecycle *lc, char *buf, size_t buflen)
{
	size_t		need = 0;
	bool		first_clause = true;

	if (buf != NULL && buflen > 0)
		buf[0] = '\0';
	if (lc == NULL)
		return 0;
	for (int f = 0; f < lc->nstates; f++)
	{
		bool		first_target = true;

		if (!lc->has_moves[f])
			continue;
		for (int t = 0; t < lc->nstates; t++)
		{
			const char *sep;
			int			n;

			if (!((lc->allowed[f] >> t) & 1u))
				continue;
			sep = first_target ? (first_clause ? "" : "; ") : " | ";
			if (first_target)
				n = snprintf(buf != NULL && need < buflen ? buf + need : NULL,
							 buf != NULL && need < buflen ? buflen - need : 0,
							 "%s%s -> %s", sep, lc->states[f], lc->states[t]);
			else
				n = snprintf(buf != NULL && need < buflen ? buf + need : NULL,
							 buf != NULL && need < buflen ? buflen - need : 0,
							 "%s%s", sep, lc->states[t]);
			if (n > 0)
				need += (size_t) n;
			first_target = false;
			first_clause = false;
		}
	}
	return need;
}
