/*
 * sp_compare.c - string comparators on code points.
 */
#include "sp_compare.h"

#include <string.h>

#include "sp_text.h"

int
sp_utf8_decode_all(const char *s, size_t len, uint32_t *out, int cap)
{
	const unsigned char *p = (const unsigned char *) s;
	int			n = 0;

	while (len > 0)
	{
		uint32_t	cp;
		size_t		k;

		if (n >= cap)
			return -2;
		if (*p < 0x80)
		{
			out[n++] = *p++;
			len--;
			continue;
		}
		k = sp_utf8_decode(p, len, &cp);
		if (k == 0)
			return -1;
		out[n++] = cp;
		p += k;
		len -= k;
	}
	return n;
}

double
sp_jaro(const uint32_t *a, int na, const uint32_t *b, int nb, unsigned char *work)
{
	unsigned char *a_flag = work;
	unsigned char *b_flag = work + na;
	int			window;
	int			matches = 0;
	int			half_transpositions = 0;
	int			k = 0;

	if (na == 0 && nb == 0)
		return 1.0;
	if (na == 0 || nb == 0)
		return 0.0;

	window = (na > nb ? na : nb) / 2 - 1;
	if (window < 0)
		window = 0;
	memset(work, 0, (size_t) na + (size_t) nb);

	for (int i = 0; i < na; i++)
	{
		int			lo = i - window > 0 ? i - window : 0;
		int			hi = i + window < nb - 1 ? i + window : nb - 1;

		for (int j = lo; j <= hi; j++)
		{
			if (!b_flag[j] && a[i] == b[j])
			{
				a_flag[i] = b_flag[j] = 1;
				matches++;
				break;
			}
		}
	}
	if (matches == 0)
		return 0.0;

	for (int i = 0; i < na; i++)
	{
		if (!a_flag[i])
			continue;
		while (!b_flag[k])
			k++;
		if (a[i] != b[k])
			half_transpositions++;
		k++;
	}

	{
		double		m = matches;
		double		t = half_transpositions / 2;	/* integer halving, as Jaro defines it */

		return (m / na + m / nb + (m - t) / m) / 3.0;
	}
}

double
sp_jaro_winkler(const uint32_t *a, int na, const uint32_t *b, int nb,
				double prefix_scale, double boost_threshold, unsigned char *work)
{
	double		j = sp_jaro(a, na, b, nb, work);
	int			prefix = 0;

	if (j <= boost_threshold)
		return j;
	while (prefix < 4 && prefix < na && prefix < nb && a[prefix] == b[prefix])
		prefix++;
	return j + prefix * prefix_scale * (1.0 - j);
}

/*
 * Bit-parallel Levenshtein distance (Myers 1999, in Hyyro's formulation) for
 * a pattern of at most 64 code points: one pass over the text, a handful of
 * word operations per character.
 */
static int
levenshtein_bitparallel(const uint32_t *pat, int m, const uint32_t *text, int n)
{
	uint64_t	peq_ascii[128];
	uint32_t	keys[64];
	uint64_t	masks[64];
	int			nkeys = 0;
	uint64_t	pv = ~(uint64_t) 0;
	uint64_t	mv = 0;
	uint64_t	last = (uint64_t) 1 << (m - 1);
	int			score = m;

	memset(peq_ascii, 0, sizeof(peq_ascii));
	for (int i = 0; i < m; i++)
	{
		uint32_t	c = pat[i];

		if (c < 128)
			peq_ascii[c] |= (uint64_t) 1 << i;
		else
		{
			int			k = 0;

			while (k < nkeys && keys[k] != c)
				k++;
			if (k == nkeys)
			{
				keys[nkeys] = c;
				masks[nkeys++] = 0;
			}
			masks[k] |= (uint64_t) 1 << i;
		}
	}

	for (int j = 0; j < n; j++)
	{
		uint32_t	c = text[j];
		uint64_t	eq = 0;
		uint64_t	xv,
					xh,
					ph,
					mh;

		if (c < 128)
			eq = peq_ascii[c];
		else
			for (int k = 0; k < nkeys; k++)
				if (keys[k] == c)
				{
					eq = masks[k];
					break;
				}

		xv = eq | mv;
		xh = (((eq & pv) + pv) ^ pv) | eq;
		ph = mv | ~(xh | pv);
		mh = pv & xh;
		if (ph & last)
			score++;
		else if (mh & last)
			score--;
		ph = (ph << 1) | 1;
		mh <<= 1;
		pv = mh | ~(xv | ph);
		mv = ph & xv;
	}
	return score;
}

int
sp_levenshtein(const uint32_t *a, int na, const uint32_t *b, int nb, int *work)
{
	const uint32_t *s = a,
			   *t = b;
	int			ns = na,
				nt = nb;

	/* s is the shorter: the pattern of the bit-parallel pass, the row of the DP */
	if (na > nb)
	{
		s = b;
		ns = nb;
		t = a;
		nt = na;
	}
	if (ns == 0)
		return nt;
	if (ns <= 64)
		return levenshtein_bitparallel(s, ns, t, nt);

	for (int i = 0; i <= ns; i++)
		work[i] = i;
	for (int j = 1; j <= nt; j++)
	{
		int			diag = work[0];

		work[0] = j;
		for (int i = 1; i <= ns; i++)
		{
			int			up = work[i];
			int			best = diag + (s[i - 1] == t[j - 1] ? 0 : 1);

			if (up + 1 < best)
				best = up + 1;
			if (work[i - 1] + 1 < best)
				best = work[i - 1] + 1;
			diag = up;
			work[i] = best;
		}
	}
	return work[ns];
}

size_t
sp_damerau_work_size(int na, int nb)
{
	return (size_t) (na + 2) * (size_t) (nb + 2) + 3 * (size_t) na + (size_t) nb + 1;
}

int
sp_damerau_levenshtein(const uint32_t *a, int na, const uint32_t *b, int nb, int *work)
{
	int			cols = nb + 2;
	int		   *h = work;
	int		   *a_slot = h + (size_t) (na + 2) * cols;
	int		   *b_slot = a_slot + na;
	int		   *da = b_slot + nb;	/* last row (1-based) where each of a's characters occurred */
	uint32_t   *keys = (uint32_t *) (da + na + 1);	/* distinct characters of a */
	int			nkeys = 0;
	int			maxdist = na + nb;

	if (na == 0)
		return nb;
	if (nb == 0)
		return na;

	/* Give every distinct character of a a slot; characters of b not in a get -1. */
	for (int i = 0; i < na; i++)
	{
		int			k = 0;

		while (k < nkeys && keys[k] != a[i])
			k++;
		if (k == nkeys)
			keys[nkeys++] = a[i];
		a_slot[i] = k;
	}
	for (int j = 0; j < nb; j++)
	{
		int			k = 0;

		while (k < nkeys && keys[k] != b[j])
			k++;
		b_slot[j] = k < nkeys ? k : -1;
	}
	memset(da, 0, sizeof(int) * (size_t) (nkeys > 0 ? nkeys : 1));

#define H(i, j) h[(size_t) (i) * cols + (j)]
	H(0, 0) = maxdist;
	for (int i = 0; i <= na; i++)
	{
		H(i + 1, 0) = maxdist;
		H(i + 1, 1) = i;
	}
	for (int j = 0; j <= nb; j++)
	{
		H(0, j + 1) = maxdist;
		H(1, j + 1) = j;
	}

	for (int i = 1; i <= na; i++)
	{
		int			db = 0;

		for (int j = 1; j <= nb; j++)
		{
			int			i1 = b_slot[j - 1] >= 0 ? da[b_slot[j - 1]] : 0;
			int			j1 = db;
			int			cost = 1;
			int			best;

			if (a[i - 1] == b[j - 1])
			{
				cost = 0;
				db = j;
			}
			best = H(i, j) + cost;
			if (H(i + 1, j) + 1 < best)
				best = H(i + 1, j) + 1;
			if (H(i, j + 1) + 1 < best)
				best = H(i, j + 1) + 1;
			if (H(i1, j1) + (i - i1 - 1) + 1 + (j - j1 - 1) < best)
				best = H(i1, j1) + (i - i1 - 1) + 1 + (j - j1 - 1);
			H(i + 1, j + 1) = best;
		}
		da[a_slot[i - 1]] = i;
	}
	return H(na + 1, nb + 1);
#undef H
}
