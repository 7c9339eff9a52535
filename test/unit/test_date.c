/* Unit tests of src/core/sp_date.c */
#include "tap.h"
#include "sp_date.h"

static sp_date_status
parse(const char *s, sp_partial_date *d)
{
	return sp_parse_partial_date(s, strlen(s), d);
}

static sp_date_status
birth(const char *s)
{
	sp_partial_date d;
	sp_date_status st = parse(s, &d);

	if (st != SP_DATE_OK)
		return st;
	/* reference day: 2026-11-28 */
	return sp_check_birth_date(&d, 2026, 11, 28);
}

int
main(void)
{
	sp_partial_date d;

	is_int(parse("1984-02-29", &d), SP_DATE_OK, "leap day 1984");
	is_int(d.year, 1984, "year");
	is_int(d.month, 2, "month");
	is_int(d.day, 29, "day");
	is_int(d.precision, SP_PREC_DAY, "day precision");
	is_int(parse("1985-02-29", &d), SP_DATE_BAD_DAY, "no leap day 1985");
	is_int(parse("1900-02-29", &d), SP_DATE_BAD_DAY, "1900 not leap");
	is_int(parse("2000-02-29", &d), SP_DATE_OK, "2000 leap");
	is_int(parse("2001-04-31", &d), SP_DATE_BAD_DAY, "April has 30 days");
	is_int(parse("2001-13-01", &d), SP_DATE_BAD_MONTH, "month 13");
	is_int(parse("2001-00", &d), SP_DATE_BAD_MONTH, "month 00");
	is_int(parse("2001-01-00", &d), SP_DATE_BAD_DAY, "day 00");
	is_int(parse("1990-07", &d), SP_DATE_OK, "year-month");
	is_int(d.precision, SP_PREC_MONTH, "month precision");
	is_int(d.day, 1, "month precision day is 1");
	is_int(parse("1990", &d), SP_DATE_OK, "year only");
	is_int(d.precision, SP_PREC_YEAR, "year precision");
	is_int(d.month, 1, "year precision month is 1");
	is_int(parse("0000", &d), SP_DATE_BAD_FORMAT, "year 0000");
	is_int(parse("90", &d), SP_DATE_BAD_FORMAT, "two-digit year");
	is_int(parse("1990/07/01", &d), SP_DATE_BAD_FORMAT, "slashes");
	is_int(parse("01-07-1990", &d), SP_DATE_BAD_FORMAT, "day first");
	is_int(parse("1990-7-1", &d), SP_DATE_BAD_FORMAT, "unpadded");
	is_int(parse("199a", &d), SP_DATE_BAD_FORMAT, "letter in year");
	is_int(parse("", &d), SP_DATE_BAD_FORMAT, "empty");
	is_int(parse("1990-07-01T00:00", &d), SP_DATE_BAD_FORMAT, "timestamp");

	is_int(birth("2026-11-28"), SP_DATE_OK, "born today");
	is_int(birth("2026-11-29"), SP_DATE_IN_FUTURE, "born tomorrow");
	is_int(birth("2026-11"), SP_DATE_OK, "this month, month precision");
	is_int(birth("2026-12"), SP_DATE_IN_FUTURE, "next month");
	is_int(birth("2026"), SP_DATE_OK, "this year, year precision");
	is_int(birth("2027"), SP_DATE_IN_FUTURE, "next year");
	is_int(birth("1896-11-28"), SP_DATE_OK, "exactly 130 years");
	is_int(birth("1896-11-27"), SP_DATE_TOO_OLD, "130 years and a day");
	is_int(birth("1896"), SP_DATE_OK, "year 1896 may still be within 130 years");
	is_int(birth("1895"), SP_DATE_TOO_OLD, "year 1895 is too old");

	is_int(sp_days_in_month(2024, 2), 29, "Feb 2024");
	is_int(sp_days_in_month(2023, 2), 28, "Feb 2023");
	is_int(sp_days_in_month(2023, 13), 0, "month 13 has no days");
	is_str(sp_date_precision_name(SP_PREC_YEAR), "year", "precision name");

	/* device timestamps */
#define TS(str) sp_check_timestamp(str, strlen(str))
	is_int(TS("2026-11-28"), SP_DATE_OK, "date only");
	is_int(TS("2026-11-28T09:30"), SP_DATE_OK, "hours and minutes");
	is_int(TS("2026-11-28T09:30:15"), SP_DATE_OK, "seconds");
	is_int(TS("2026-11-28 09:30:15.123456Z"), SP_DATE_OK, "space, microseconds, Z");
	is_int(TS("2026-11-28T09:30:15+03:00"), SP_DATE_OK, "offset with colon");
	is_int(TS("2026-11-28T09:30:15-0530"), SP_DATE_OK, "offset without colon");
	is_int(TS("2026-11-28T09:30:15+03"), SP_DATE_OK, "hour offset");
	is_int(TS("2026-11-28Z"), SP_DATE_OK, "date with zone");
	is_int(TS("2026-02-30T10:00:00Z"), SP_DATE_BAD_DAY, "no 30 February");
	is_int(TS("2026-11-28T24:00"), SP_DATE_BAD_FORMAT, "hour 24");
	is_int(TS("2026-11-28T09:60"), SP_DATE_BAD_FORMAT, "minute 60");
	is_int(TS("2026-11-28T09"), SP_DATE_BAD_FORMAT, "hour without minutes");
	is_int(TS("2026-11-28T09:30:15."), SP_DATE_BAD_FORMAT, "empty fraction");
	is_int(TS("2026-11-28T09:30:15.1234567"), SP_DATE_BAD_FORMAT, "seven fraction digits");
	is_int(TS("2026-11-28T09:30+3"), SP_DATE_BAD_FORMAT, "one-digit offset");
	is_int(TS("yesterday"), SP_DATE_BAD_FORMAT, "words");
	is_int(TS("2026-11-28T09:30:15Zjunk"), SP_DATE_BAD_FORMAT, "trailing junk");
	is_int(TS("2026-11"), SP_DATE_BAD_FORMAT, "month precision is not a timestamp");

	return done_testing();
}
