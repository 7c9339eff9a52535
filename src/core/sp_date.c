/*
 * sp_date.c - partial birth dates.
 */
#include "sp_date.h"

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
sp_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && is_leap(year))
		return 29;
	return days[month - 1];
}

/* Read exactly n ASCII digits starting at s; -1 when any is not a digit. */
static int
digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

sp_date_status
sp_parse_partial_date(const char *s, size_t len, sp_partial_date *out)
{
	int			y,
				m = 1,
				d = 1;
	sp_date_precision prec;

	if (len == 4)
		prec = SP_PREC_YEAR;
	else if (len == 7 && s[4] == '-')
		prec = SP_PREC_MONTH;
	else if (len == 10 && s[4] == '-' && s[7] == '-')
		prec = SP_PREC_DAY;
	else
		return SP_DATE_BAD_FORMAT;

	y = digits(s, 4);
	if (y < 0)
		return SP_DATE_BAD_FORMAT;
	if (prec != SP_PREC_YEAR)
	{
		m = digits(s + 5, 2);
		if (m < 0)
			return SP_DATE_BAD_FORMAT;
		if (m < 1 || m > 12)
			return SP_DATE_BAD_MONTH;
	}
	if (prec == SP_PREC_DAY)
	{
		d = digits(s + 8, 2);
		if (d < 0)
			return SP_DATE_BAD_FORMAT;
		if (d < 1 || d > sp_days_in_month(y, m))
			return SP_DATE_BAD_DAY;
	}
	if (y == 0)
		return SP_DATE_BAD_FORMAT;	/* there is no year 0000 */

	out->year = y;
	out->month = m;
	out->day = d;
	out->precision = prec;
	return SP_DATE_OK;
}

/* Compare (y1,m1,d1) with (y2,m2,d2): <0, 0, >0. */
static int
cmp_ymd(int y1, int m1, int d1, int y2, int m2, int d2)
{
	if (y1 != y2)
		return y1 < y2 ? -1 : 1;
	if (m1 != m2)
		return m1 < m2 ? -1 : 1;
	if (d1 != d2)
		return d1 < d2 ? -1 : 1;
	return 0;
}

/* Two digits at s[*pos] not above max; advances *pos. */
static int
two_digits(const char *s, size_t len, size_t *pos, int max)
{
	int			v;

	if (*pos + 2 > len)
		return -1;
	v = digits(s + *pos, 2);
	if (v < 0 || v > max)
		return -1;
	*pos += 2;
	return v;
}

sp_date_status
sp_check_timestamp(const char *s, size_t len)
{
	sp_partial_date d;
	sp_date_status st;
	size_t		pos = 10;

	if (len < 10)
		return SP_DATE_BAD_FORMAT;
	st = sp_parse_partial_date(s, 10, &d);
	if (st != SP_DATE_OK)
		return st;
	if (pos < len && (s[pos] == 'T' || s[pos] == ' '))
	{
		pos++;
		if (two_digits(s, len, &pos, 23) < 0 || pos >= len || s[pos++] != ':' ||
			two_digits(s, len, &pos, 59) < 0)
			return SP_DATE_BAD_FORMAT;
		if (pos < len && s[pos] == ':')
		{
			pos++;
			if (two_digits(s, len, &pos, 59) < 0)
				return SP_DATE_BAD_FORMAT;
			if (pos < len && s[pos] == '.')
			{
				size_t		f = 0;

				pos++;
				while (pos < len && s[pos] >= '0' && s[pos] <= '9' && f < 6)
				{
					pos++;
					f++;
				}
				if (f == 0)
					return SP_DATE_BAD_FORMAT;
			}
		}
	}
	if (pos < len && s[pos] == 'Z')
		pos++;
	else if (pos < len && (s[pos] == '+' || s[pos] == '-'))
	{
		pos++;
		if (two_digits(s, len, &pos, 23) < 0)
			return SP_DATE_BAD_FORMAT;
		if (pos < len && s[pos] == ':')
			pos++;
		if (pos < len && two_digits(s, len, &pos, 59) < 0)
			return SP_DATE_BAD_FORMAT;
	}
	return pos == len ? SP_DATE_OK : SP_DATE_BAD_FORMAT;
}

sp_date_status
sp_check_birth_date(const sp_partial_date *d, int ty, int tm, int td)
{
	int			future;

	/* Compare only as precisely as the date is known. */
	switch (d->precision)
	{
		case SP_PREC_YEAR:
			future = d->year > ty;
			break;
		case SP_PREC_MONTH:
			future = cmp_ymd(d->year, d->month, 1, ty, tm, 1) > 0;
			break;
		default:
			future = cmp_ymd(d->year, d->month, d->day, ty, tm, td) > 0;
			break;
	}
	if (future)
		return SP_DATE_IN_FUTURE;

	/* Too old: the latest day the person could have been born is still too early. */
	{
		int			ly = d->year,
					lm = d->month,
					ld = d->day;

		if (d->precision == SP_PREC_YEAR)
		{
			lm = 12;
			ld = 31;
		}
		else if (d->precision == SP_PREC_MONTH)
			ld = sp_days_in_month(ly, lm);
		if (cmp_ymd(ly, lm, ld, ty - SP_MAX_AGE_YEARS, tm, td) < 0)
			return SP_DATE_TOO_OLD;
	}
	return SP_DATE_OK;
}

const char *
sp_date_status_message(sp_date_status status)
{
	switch (status)
	{
		case SP_DATE_OK:
			return "ok";
		case SP_DATE_BAD_FORMAT:
			return "date must be YYYY-MM-DD, YYYY-MM or YYYY";
		case SP_DATE_BAD_MONTH:
			return "month must be between 01 and 12";
		case SP_DATE_BAD_DAY:
			return "day does not exist in that month";
		case SP_DATE_IN_FUTURE:
			return "date is in the future";
		case SP_DATE_TOO_OLD:
			return "date is more than 130 years ago";
	}
	return "unknown date status";
}

const char *
sp_date_precision_name(sp_date_precision precision)
{
	switch (precision)
	{
		case SP_PREC_DAY:
			return "day";
		case SP_PREC_MONTH:
			return "month";
		case SP_PREC_YEAR:
			return "year";
	}
	return "day";
}
