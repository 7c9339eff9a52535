/*
 * sp_date.h - partial dates as registries receive them: "YYYY-MM-DD",
 * "YYYY-MM" (day unknown) or "YYYY" (only the year is known).
 *
 * Pure C (no postgres.h): unit-tested standalone in test/unit.
 */
#ifndef SP_DATE_H
#define SP_DATE_H

#include <stddef.h>

typedef enum sp_date_precision
{
	SP_PREC_DAY = 0,
	SP_PREC_MONTH,
	SP_PREC_YEAR
} sp_date_precision;

typedef struct sp_partial_date
{
	int			year;
	int			month;			/* 1 when precision is year */
	int			day;			/* 1 when precision is month or year */
	sp_date_precision precision;
} sp_partial_date;

typedef enum sp_date_status
{
	SP_DATE_OK = 0,
	SP_DATE_BAD_FORMAT,			/* not YYYY, YYYY-MM or YYYY-MM-DD */
	SP_DATE_BAD_MONTH,			/* month outside 1..12 */
	SP_DATE_BAD_DAY,			/* day does not exist in that month */
	SP_DATE_IN_FUTURE,			/* after the reference date */
	SP_DATE_TOO_OLD				/* more than SP_MAX_AGE_YEARS before the reference */
} sp_date_status;

/* Oldest plausible age, in years, of a living registrant. */
#define SP_MAX_AGE_YEARS 130

/* Parse s[0..len); fills *out on success. */
sp_date_status sp_parse_partial_date(const char *s, size_t len, sp_partial_date *out);

/*
 * Check a parsed birth date against today's date (year, month, day): not in the
 * future at its own precision, not older than SP_MAX_AGE_YEARS.
 */
sp_date_status sp_check_birth_date(const sp_partial_date *d, int today_year,
								   int today_month, int today_day);

int			sp_days_in_month(int year, int month);

/*
 * ISO 8601 timestamp as devices send it: YYYY-MM-DD, optionally followed by
 * 'T' or ' ' and HH:MM[:SS[.f{1,6}]], optionally followed by 'Z' or +HH,
 * +HHMM, +HH:MM (or '-').  The date must exist.  Returns SP_DATE_OK,
 * SP_DATE_BAD_FORMAT or SP_DATE_BAD_MONTH / SP_DATE_BAD_DAY.
 */
sp_date_status sp_check_timestamp(const char *s, size_t len);
const char *sp_date_status_message(sp_date_status status);
const char *sp_date_precision_name(sp_date_precision precision);

#endif							/* SP_DATE_H */
