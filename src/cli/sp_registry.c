/*
 * sp_registry - the command-line tool of sp_registry, for DBAs and data
 * managers.
 *
 *   sp_registry [connection options] import [options] FILE
 *   sp_registry [connection options] dedupe [options]
 *   sp_registry [connection options] report [options]
 *   sp_registry [connection options] gateway [gateway options]
 *
 * import: registrations from CSV (a row per member, grouped into households
 * by a household column) or JSON lines (a registration document per line),
 * sent in batches to sp.import_registrations; good households land, bad ones
 * are listed in an error file with their line numbers, fields and reasons.
 * With --programme, an external programme's list (sp.import_external_
 * beneficiaries): a list is all or nothing, so one bad row refuses it.
 * docs/dba-guide.md documents it; --help lists the options.
 */
#include "sp_csv.h"
#include "sp_http.h"
#include "sp_json.h"

#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VERSION "0.1.0"

/* exit statuses */
#define EXIT_USAGE 1
#define EXIT_SERVER 2
#define EXIT_REJECTED 3

static const char *opt_host, *opt_port, *opt_user, *opt_dbname;
static bool quiet = false;
static int	progress = -1;			/* -1: when standard error is a terminal */

static void
die(int status, const char *fmt, ...)
{
	va_list		ap;

	fputs("sp_registry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		die(EXIT_SERVER, "out of memory");
	return p;
}

static void
buf_add(sp_buf *b, const char *s)
{
	if (!sp_buf_puts(b, s))
		die(EXIT_SERVER, "out of memory");
}

static void
buf_str(sp_buf *b, const char *s, size_t n)
{
	if (!sp_buf_json_string(b, s, n))
		die(EXIT_SERVER, "out of memory");
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static PGconn *
connect_db(void)
{
	const char *keys[8];
	const char *vals[8];
	int			n = 0;
	PGconn	   *conn;

	if (opt_host)
		keys[n] = "host", vals[n++] = opt_host;
	if (opt_port)
		keys[n] = "port", vals[n++] = opt_port;
	if (opt_user)
		keys[n] = "user", vals[n++] = opt_user;
	if (opt_dbname)
		keys[n] = "dbname", vals[n++] = opt_dbname;
	keys[n] = "fallback_application_name", vals[n++] = "sp_registry";
	keys[n] = "client_encoding", vals[n++] = "UTF8";
	keys[n] = NULL, vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(conn) != CONNECTION_OK)
		die(EXIT_SERVER, "cannot connect: %s", PQerrorMessage(conn));
	return conn;
}

/* A whole file (or standard input for "-") in memory. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t		cap = 1 << 20;
	size_t		n = 0;
	char	   *data;

	if (f == NULL)
		die(EXIT_USAGE, "cannot open %s: %s", path, strerror(errno));
	data = xmalloc(cap);
	for (;;)
	{
		size_t		got;

		if (n == cap)
		{
			char	   *d;

			if (cap > ((size_t) 1 << 40))
				die(EXIT_USAGE, "%s is too large", path);
			cap *= 2;
			d = realloc(data, cap);
			if (d == NULL)
				die(EXIT_SERVER, "out of memory reading %s", path);
			data = d;
		}
		got = fread(data + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		die(EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	*len = n;
	return data;
}

/* ------------------------------------------------------------------------ */
/* Progress on standard error                                               */

static double progress_t0;

static void
show_progress(const char *what, long done, long total, long rejected)
{
	double		t = now_s() - progress_t0;
	double		rate = t > 0 ? done / t : 0;
	int			width = 30;
	int			filled = total > 0 ? (int) ((double) done / total * width) : 0;
	char		bar[64];

	if (!progress)
		return;
	for (int i = 0; i < width; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr, "\r[%s] %3d%%  %ld/%ld %s  %.0f/s  %ld rejected  ETA %.0f s   ",
			bar, total > 0 ? (int) (100.0 * done / total) : 100, done, total, what, rate, rejected,
			rate > 0 ? (total - done) / rate : 0.0);
	fflush(stderr);
}

static void
end_progress(void)
{
	if (progress)
		fputc('\n', stderr);
}

/* ------------------------------------------------------------------------ */
/* The error report: CSV of line, lines, field, sqlstate, reason            */

static long unreadable_rows;		/* rows of a CSV that could not be read: the file is refused */
static FILE *errors_file;
static const char *errors_path;
static long errors_written;

static void
csv_field(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++)
	{
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
report_error(long line, const char *lines, const char *field, const char *sqlstate, const char *reason)
{
	if (errors_file == NULL)
	{
		errors_file = fopen(errors_path, "w");
		if (errors_file == NULL)
			die(EXIT_USAGE, "cannot write the error report %s: %s", errors_path, strerror(errno));
		fputs("line,lines,field,sqlstate,reason\n", errors_file);
	}
	fprintf(errors_file, "%ld,", line);
	csv_field(errors_file, lines);
	fputc(',', errors_file);
	csv_field(errors_file, field);
	fputc(',', errors_file);
	csv_field(errors_file, sqlstate);
	fputc(',', errors_file);
	csv_field(errors_file, reason);
	fputc('\n', errors_file);
	errors_written++;
}

/* ------------------------------------------------------------------------ */
/* Documents to import                                                      */

typedef struct doc
{
	sp_buf		json;			/* the document */
	long		first_line;
	sp_buf		lines;			/* "3,4,7" */
	char		id[37];			/* the submission_id to use when the document has none */
	const char *problem;		/* found here: not sent, reported with all its lines */
	char		problem_field[64];
	sp_buf		first_values;	/* the household fields of its first row, to compare the others with */
} doc;

typedef struct docs
{
	doc		   *items;
	size_t		n;
	size_t		cap;
} docs;

static doc *
docs_add(docs *d)
{
	if (d->n == d->cap)
	{
		size_t		cap = d->cap ? d->cap * 2 : 1024;
		doc		   *p = realloc(d->items, cap * sizeof(doc));

		if (p == NULL)
			die(EXIT_SERVER, "out of memory");
		d->items = p;
		d->cap = cap;
	}
	memset(&d->items[d->n], 0, sizeof(doc));
	return &d->items[d->n++];
}

/* a submission_id from the document's content: the same file imported again is recognised */
static void
content_id(const char *s, size_t len, char out[37])
{
	unsigned char h[32];

	sp_sha256(s, len, h);
	sp_uuid_format(h, out);
}

/* JSON lines: each line a document (an object), checked before anything is sent */
static void
read_jsonl(const char *data, size_t len, docs *out, long *bad)
{
	const char *p = data;
	const char *end = data + len;
	long		line = 0;

	if (len >= 3 && (unsigned char) p[0] == 0xef && (unsigned char) p[1] == 0xbb && (unsigned char) p[2] == 0xbf)
		p += 3;					/* a UTF-8 byte order mark */
	while (p < end)
	{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		const char *e = nl ? nl : end;
		size_t		n = (size_t) (e - p);
		size_t		where = 0;
		bool		blank = true;

		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n; i++)
			if (p[i] != ' ' && p[i] != '\t')
				blank = false;
		if (!blank)
		{
			if (!sp_json_valid(p, n, true, &where))
			{
				char		msg[96];

				snprintf(msg, sizeof(msg), "not a JSON object (at byte %zu of the line)", where + 1);
				report_error(line, "", "$", "22P02", msg);
				(*bad)++;
			}
			else
			{
				doc		   *d = docs_add(out);
				char		l[24];

				if (!sp_buf_append(&d->json, p, n))
					die(EXIT_SERVER, "out of memory");
				d->first_line = line;
				snprintf(l, sizeof(l), "%ld", line);
				buf_add(&d->lines, l);
				content_id(p, n, d->id);
			}
		}
		p = nl ? nl + 1 : end;
	}
}

/* the catalogue's value types, to send CSV cells as the JSON the variables take */
typedef struct variable
{
	char	   *code;
	char	   *entity;
	char	   *type;
} variable;

static variable *catalogue;
static int	ncatalogue;

static void
load_catalogue(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT code, entity, value_type FROM sp.variable ORDER BY code");

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die(EXIT_SERVER, "cannot read the variable catalogue: %s", PQerrorMessage(conn));
	ncatalogue = PQntuples(res);
	catalogue = xmalloc(sizeof(variable) * (size_t) (ncatalogue ? ncatalogue : 1));
	for (int i = 0; i < ncatalogue; i++)
	{
		catalogue[i].code = strdup(PQgetvalue(res, i, 0));
		catalogue[i].entity = strdup(PQgetvalue(res, i, 1));
		catalogue[i].type = strdup(PQgetvalue(res, i, 2));
	}
	PQclear(res);
}

static const char *
variable_type(const char *entity, const char *code)
{
	for (int i = 0; i < ncatalogue; i++)
		if (strcmp(catalogue[i].code, code) == 0 && strcmp(catalogue[i].entity, entity) == 0)
			return catalogue[i].type;
	return NULL;
}

static bool
looks_numeric(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (!(*p >= '0' && *p <= '9'))
		return false;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return false;			/* (JSON has no leading zeros: "07" is text) */
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.')
	{
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0' && strlen(s) <= 30;
}

/* a cell as the JSON value of its variable's type (the server validates it) */
static void
typed_value(sp_buf *b, const char *type, const char *v, size_t n)
{
	if (type && (strcmp(type, "integer") == 0 || strcmp(type, "numeric") == 0) && looks_numeric(v))
		buf_add(b, v);
	else if (type && strcmp(type, "boolean") == 0 && (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0))
		buf_add(b, "true");
	else if (type && strcmp(type, "boolean") == 0 && (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0))
		buf_add(b, "false");
	else
		buf_str(b, v, n);
}

/* CSV columns of a registration file */
enum col_kind
{
	COL_HOUSEHOLD, COL_HH_FIELD, COL_LAT, COL_LON, COL_MEMBER, COL_HH_ATTR, COL_PERSON_ATTR
};

typedef struct column
{
	enum col_kind kind;
	const char *key;			/* the document key, or the variable code */
	const char *type;			/* of an attribute */
} column;

/* households by key: open addressing over the docs' indexes */
typedef struct hh_index
{
	char	  **keys;
	size_t	   *doc;
	size_t		cap;
	size_t		n;
} hh_index;

static size_t
hash_str(const char *s)
{
	size_t		h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

static size_t *
hh_lookup(hh_index *ix, const char *key, bool *found)
{
	size_t		i;

	if (ix->n * 2 >= ix->cap)
	{
		hh_index	bigger = {0};

		bigger.cap = ix->cap ? ix->cap * 2 : 4096;
		bigger.keys = calloc(bigger.cap, sizeof(char *));
		bigger.doc = calloc(bigger.cap, sizeof(size_t));
		if (bigger.keys == NULL || bigger.doc == NULL)
			die(EXIT_SERVER, "out of memory");
		for (size_t k = 0; k < ix->cap; k++)
			if (ix->keys[k])
			{
				size_t		j = hash_str(ix->keys[k]) & (bigger.cap - 1);

				while (bigger.keys[j])
					j = (j + 1) & (bigger.cap - 1);
				bigger.keys[j] = ix->keys[k];
				bigger.doc[j] = ix->doc[k];
				bigger.n++;
			}
		free(ix->keys);
		free(ix->doc);
		*ix = bigger;
	}
	i = hash_str(key) & (ix->cap - 1);
	while (ix->keys[i] && strcmp(ix->keys[i], key) != 0)
		i = (i + 1) & (ix->cap - 1);
	*found = ix->keys[i] != NULL;
	if (!*found)
	{
		ix->keys[i] = strdup(key);
		if (ix->keys[i] == NULL)
			die(EXIT_SERVER, "out of memory");
		ix->n++;
	}
	return &ix->doc[i];
}

/*
 * A registration CSV: a row per member; the household column groups them;
 * household fields (admin_area_code, lat, lon, submission_id, source,
 * device_time, household.<variable>) are read from a household's first row.
 * Documents are built here; members are closed when all rows are read.
 */
static void
read_registration_csv(const char *data, size_t len, docs *out, long *bad)
{
	static const char *const hh_fields[] = {"admin_area_code", "submission_id", "source", "device_time"};
	static const char *const member_fields[] = {"given_name", "family_name", "other_names", "birth_date", "sex",
	"relationship_to_head", "national_id", "phone"};
	sp_csv_reader r;
	sp_csv_record rec = {0};
	sp_csv_status st;
	column	   *cols;
	size_t		ncols;
	hh_index	ix = {0};
	sp_buf	   *members;
	size_t		members_cap = 0;
	bool		has_household = false;
	long		unreadable = 0;

	sp_csv_init(&r, data, len);
	st = sp_csv_next(&r, &rec);
	if (st != SP_CSV_RECORD)
		die(EXIT_USAGE, "the file has no header row (%s)", sp_csv_message(st));
	ncols = rec.n;
	cols = xmalloc(sizeof(column) * ncols);
	for (size_t i = 0; i < ncols; i++)
	{
		const char *h = rec.fields[i];
		bool		known = false;

		cols[i].key = NULL;
		cols[i].type = NULL;
		if (strcmp(h, "household") == 0)
		{
			cols[i].kind = COL_HOUSEHOLD;
			has_household = known = true;
		}
		else if (strcmp(h, "lat") == 0 || strcmp(h, "lon") == 0)
		{
			cols[i].kind = strcmp(h, "lat") == 0 ? COL_LAT : COL_LON;
			known = true;
		}
		else if (strncmp(h, "household.", 10) == 0 || strncmp(h, "person.", 7) == 0)
		{
			bool		hh = h[0] == 'h';

			cols[i].kind = hh ? COL_HH_ATTR : COL_PERSON_ATTR;
			cols[i].key = strdup(h + (hh ? 10 : 7));
			cols[i].type = variable_type(hh ? "household" : "person", cols[i].key);
			if (cols[i].type == NULL)
				die(EXIT_USAGE, "column \"%s\": \"%s\" is not a %s variable of the catalogue (sp.variable)",
					h, cols[i].key, hh ? "household" : "person");
			known = true;
		}
		if (cols[i].key == NULL)
			cols[i].key = strdup(h);
		if (cols[i].key == NULL)
			die(EXIT_SERVER, "out of memory");
		for (size_t k = 0; !known && k < sizeof(hh_fields) / sizeof(hh_fields[0]); k++)
			if (strcmp(h, hh_fields[k]) == 0)
			{
				cols[i].kind = COL_HH_FIELD;
				known = true;
			}
		for (size_t k = 0; !known && k < sizeof(member_fields) / sizeof(member_fields[0]); k++)
			if (strcmp(h, member_fields[k]) == 0)
			{
				cols[i].kind = COL_MEMBER;
				known = true;
			}
		if (!known)
			die(EXIT_USAGE, "unknown column \"%s\" (household, admin_area_code, lat, lon, submission_id, source, device_time, "
				"given_name, family_name, other_names, birth_date, sex, relationship_to_head, national_id, phone, "
				"household.<variable>, person.<variable>)", h);
	}
	if (!has_household)
		die(EXIT_USAGE, "the file needs a \"household\" column: the key that groups members into households");

	members = NULL;
	while ((st = sp_csv_next(&r, &rec)) != SP_CSV_END)
	{
		const char *key = NULL;
		bool		found;
		size_t	   *slot;
		doc		   *d;
		sp_buf	   *m;
		bool		first_field = true;
		char		l[24];

		/*
		 * A row that cannot be read cannot be put in its household: the
		 * file is refused whole (after every such row is listed), so that
		 * no household lands with a member missing.
		 */
		if (st != SP_CSV_RECORD)
		{
			report_error(rec.line, "", "$", "22P02", sp_csv_message(st));
			(*bad)++;
			unreadable++;
			if (st == SP_CSV_UNTERMINATED || st == SP_CSV_NO_MEMORY)
				break;
			continue;
		}
		if (rec.n != ncols)
		{
			char		msg[96];

			snprintf(msg, sizeof(msg), "the row has %zu fields, the header %zu", rec.n, ncols);
			report_error(rec.line, "", "$", "22P02", msg);
			(*bad)++;
			unreadable++;
			continue;
		}
		for (size_t i = 0; i < ncols; i++)
			if (rec.field_len[i] != strlen(rec.fields[i]))
			{
				report_error(rec.line, "", cols[i].key, "22021", "a cell holds a NUL byte");
				(*bad)++;
				unreadable++;
				break;
			}
		if (unreadable > 0)
			continue;
		for (size_t i = 0; i < ncols; i++)
			if (cols[i].kind == COL_HOUSEHOLD)
				key = rec.fields[i];
		if (key == NULL || key[0] == '\0')
		{
			/* (a member whose household is unknown: its household would land without it) */
			report_error(rec.line, "", "household", "23502", "the household key is empty: the row's household is unknown");
			(*bad)++;
			unreadable++;
			continue;
		}
		slot = hh_lookup(&ix, key, &found);
		if (!found)
		{
			double		lat = 0, lon = 0;
			bool		has_lat = false, has_lon = false;
			bool		has_attr = false;

			*slot = out->n;
			d = docs_add(out);
			d->first_line = rec.line;
			if (out->n > members_cap)
			{
				size_t		cap = out->cap;
				sp_buf	   *mm = realloc(members, cap * sizeof(sp_buf));

				if (mm == NULL)
					die(EXIT_SERVER, "out of memory");
				memset(mm + members_cap, 0, (cap - members_cap) * sizeof(sp_buf));
				members = mm;
				members_cap = cap;
			}
			buf_add(&d->json, "{");
			for (size_t i = 0; i < ncols; i++)
			{
				if (rec.fields[i][0] == '\0')
					continue;
				if (cols[i].kind == COL_HH_FIELD)
				{
					if (!first_field)
						buf_add(&d->json, ", ");
					buf_str(&d->json, cols[i].key, strlen(cols[i].key));
					buf_add(&d->json, ": ");
					buf_str(&d->json, rec.fields[i], rec.field_len[i]);
					first_field = false;
				}
				else if (cols[i].kind == COL_LAT || cols[i].kind == COL_LON)
				{
					char	   *e;
					double		v = strtod(rec.fields[i], &e);
					double		limit = cols[i].kind == COL_LAT ? 90 : 180;

					if (*e != '\0' || !isfinite(v) || v < -limit || v > limit)
					{
						d->problem = cols[i].kind == COL_LAT ? "lat is not a latitude (-90 to 90)" : "lon is not a longitude (-180 to 180)";
						snprintf(d->problem_field, sizeof(d->problem_field), "%s", cols[i].key);
					}
					else if (cols[i].kind == COL_LAT)
						lat = v, has_lat = true;
					else
						lon = v, has_lon = true;
				}
			}
			if (has_lat != has_lon && d->problem == NULL)
			{
				d->problem = "lat and lon go together";
				snprintf(d->problem_field, sizeof(d->problem_field), "%s", has_lat ? "lon" : "lat");
			}
			if (has_lat && has_lon)
			{
				char		loc[128];

				snprintf(loc, sizeof(loc), "%s\"location\": {\"lat\": %.7f, \"lon\": %.7f}", first_field ? "" : ", ", lat, lon);
				buf_add(&d->json, loc);
				first_field = false;
			}
			for (size_t i = 0; i < ncols; i++)
				if (cols[i].kind == COL_HH_ATTR && rec.fields[i][0] != '\0')
				{
					buf_add(&d->json, has_attr ? ", " : (first_field ? "\"attributes\": {" : ", \"attributes\": {"));
					buf_str(&d->json, cols[i].key, strlen(cols[i].key));
					buf_add(&d->json, ": ");
					typed_value(&d->json, cols[i].type, rec.fields[i], rec.field_len[i]);
					has_attr = true;
					first_field = false;
				}
			if (has_attr)
				buf_add(&d->json, "}");
			buf_add(&d->json, first_field ? "" : ", ");
			/* the household fields of this first row, NUL-separated, to check the others against */
			for (size_t i = 0; i < ncols; i++)
				if (cols[i].kind == COL_HH_FIELD || cols[i].kind == COL_LAT || cols[i].kind == COL_LON || cols[i].kind == COL_HH_ATTR)
					if (!sp_buf_append(&d->first_values, rec.fields[i], rec.field_len[i] + 1))
						die(EXIT_SERVER, "out of memory");
		}
		else
		{
			/* a later row: its household fields, when given, must be the first row's */
			const char *fv;

			d = &out->items[*slot];
			fv = d->first_values.data;
			for (size_t i = 0; fv && i < ncols; i++)
				if (cols[i].kind == COL_HH_FIELD || cols[i].kind == COL_LAT || cols[i].kind == COL_LON || cols[i].kind == COL_HH_ATTR)
				{
					if (rec.fields[i][0] != '\0' && fv[0] != '\0' && strcmp(rec.fields[i], fv) != 0 && d->problem == NULL)
					{
						d->problem = "the household's rows disagree on a household field";
						snprintf(d->problem_field, sizeof(d->problem_field), "%s", cols[i].key);
					}
					fv += strlen(fv) + 1;
				}
		}
		d = &out->items[*slot];
		m = &members[*slot];
		snprintf(l, sizeof(l), "%s%ld", d->lines.len ? "," : "", rec.line);
		buf_add(&d->lines, l);
		/* the member */
		buf_add(m, m->len ? ", {" : "{");
		{
			bool		first = true;
			bool		has_attr = false;

			for (size_t i = 0; i < ncols; i++)
				if (cols[i].kind == COL_MEMBER && rec.fields[i][0] != '\0')
				{
					if (!first)
						buf_add(m, ", ");
					buf_str(m, cols[i].key, strlen(cols[i].key));
					buf_add(m, ": ");
					buf_str(m, rec.fields[i], rec.field_len[i]);
					first = false;
				}
			for (size_t i = 0; i < ncols; i++)
				if (cols[i].kind == COL_PERSON_ATTR && rec.fields[i][0] != '\0')
				{
					buf_add(m, has_attr ? ", " : (first ? "\"attributes\": {" : ", \"attributes\": {"));
					buf_str(m, cols[i].key, strlen(cols[i].key));
					buf_add(m, ": ");
					typed_value(m, cols[i].type, rec.fields[i], rec.field_len[i]);
					has_attr = true;
					first = false;
				}
			if (has_attr)
				buf_add(m, "}");
		}
		buf_add(m, "}");
	}
	/* close the documents: members, and a submission_id from the household key and content when none was given */
	for (size_t k = 0; k < ix.cap; k++)
		if (ix.keys[k])
		{
			doc		   *d = &out->items[ix.doc[k]];
			sp_buf		keyed = {0};

			buf_add(&d->json, "\"members\": [");
			buf_add(&d->json, members[ix.doc[k]].data ? members[ix.doc[k]].data : "");
			buf_add(&d->json, "]}");
			buf_add(&keyed, ix.keys[k]);
			buf_add(&keyed, "\n");
			if (!sp_buf_append(&keyed, d->json.data, d->json.len))
				die(EXIT_SERVER, "out of memory");
			content_id(keyed.data, keyed.len, d->id);
			sp_buf_free(&keyed);
			sp_buf_free(&members[ix.doc[k]]);
			/* what the cells made must be JSON (a cell with invalid UTF-8 would not be) */
			if (d->problem == NULL && !sp_json_valid(d->json.data, d->json.len, true, NULL))
			{
				d->problem = "a cell is not valid UTF-8 text";
				snprintf(d->problem_field, sizeof(d->problem_field), "$");
			}
		}
	free(members);
	sp_csv_record_free(&rec);
	if (unreadable > 0)
		unreadable_rows = unreadable;
	for (size_t k = 0; k < ix.cap; k++)
		free(ix.keys[k]);
	free(ix.keys);
	free(ix.doc);
	for (size_t i = 0; i < ncols; i++)
		free((char *) cols[i].key);
	free(cols);
}

/* ------------------------------------------------------------------------ */
/* import                                                                   */

static const char *const IMPORT_SQL =
"WITH d AS (SELECT x.d, y.id, x.n FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY x (d, n) "
"           JOIN jsonb_array_elements_text($2::jsonb) WITH ORDINALITY y (id, n) USING (n)), "
"     r AS (SELECT sp.import_registrations((SELECT jsonb_agg(CASE WHEN d.d ? 'submission_id' THEN d.d "
"                                                   ELSE d.d || jsonb_build_object('submission_id', d.id) END ORDER BY d.n) FROM d)) AS j) "
"SELECT (r.j ->> 'inserted')::int, (r.j ->> 'duplicates_skipped')::int, (r.j ->> 'rejected')::int, "
"       e ->> 'index', e ->> 'sqlstate', e ->> 'field', e ->> 'message' "
"FROM r LEFT JOIN LATERAL jsonb_array_elements(r.j -> 'errors') e ON true";

/* why the server refused a batch whole: its message, SQLSTATE and the field it named */
typedef struct refusal
{
	char	   *message;
	char		code[6];
	char		field[64];
} refusal;

/*
 * One batch (docs[idx[0..n)]) to sp.import_registrations: counts added and
 * rejected documents reported.  False when the server refused the batch as a
 * whole (a value it cannot take in any document): the caller then sends
 * the documents one by one, to find the one.
 */
static bool
send_batch(PGconn *conn, docs *all, const size_t *idx, size_t n, long *inserted, long *skipped, long *rejected,
		   refusal *why)
{
	sp_buf		arr = {0};
	sp_buf		ids = {0};
	const char *params[2];
	PGresult   *res;

	buf_add(&arr, "[");
	buf_add(&ids, "[");
	for (size_t k = 0; k < n; k++)
	{
		doc		   *d = &all->items[idx[k]];

		if (k > 0)
		{
			buf_add(&arr, ",");
			buf_add(&ids, ",");
		}
		if (!sp_buf_append(&arr, d->json.data, d->json.len))
			die(EXIT_SERVER, "out of memory");
		buf_str(&ids, d->id, strlen(d->id));
	}
	buf_add(&arr, "]");
	buf_add(&ids, "]");
	params[0] = arr.data;
	params[1] = ids.data;
	res = PQexecParams(conn, IMPORT_SQL, 2, NULL, params, NULL, NULL, 0);
	sp_buf_free(&arr);
	sp_buf_free(&ids);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		/* data the server cannot take (22xxx, 23xxx, 54xxx): find the document; anything else is fatal */
		if (code == NULL || (strncmp(code, "22", 2) != 0 && strncmp(code, "23", 2) != 0 && strncmp(code, "54", 2) != 0))
		{
			end_progress();
			die(EXIT_SERVER, "the server refused the import: %s", PQerrorMessage(conn));
		}
		{
			const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			const char *col = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);

			why->message = strdup(msg ? msg : "refused");
			if (why->message == NULL)
				die(EXIT_SERVER, "out of memory");
			snprintf(why->code, sizeof(why->code), "%s", code);
			snprintf(why->field, sizeof(why->field), "%s", col && col[0] ? col : "$");
		}
		PQclear(res);
		return false;
	}
	for (int k = 0; k < PQntuples(res); k++)
	{
		if (k == 0)
		{
			*inserted += atol(PQgetvalue(res, 0, 0));
			*skipped += atol(PQgetvalue(res, 0, 1));
			*rejected += atol(PQgetvalue(res, 0, 2));
		}
		if (!PQgetisnull(res, k, 3))
		{
			size_t		pos = (size_t) atol(PQgetvalue(res, k, 3));

			if (pos < n)
			{
				doc		   *d = &all->items[idx[pos]];

				report_error(d->first_line, d->lines.data, PQgetvalue(res, k, 5), PQgetvalue(res, k, 4), PQgetvalue(res, k, 6));
			}
		}
	}
	PQclear(res);
	return true;
}

static int
import_registrations(PGconn *conn, docs *all, long local_bad, int batch, const char *path)
{
	long		inserted = 0, skipped = 0, rejected = local_bad;
	double		t0 = now_s();
	size_t	   *idx = xmalloc(sizeof(size_t) * (size_t) batch);
	size_t		done = 0;

	progress_t0 = t0;
	while (done < all->n)
	{
		size_t		n = 0;
		refusal		why = {0};

		/* the next batch of documents found sound here; the others are reported */
		while (done < all->n && n < (size_t) batch)
		{
			doc		   *d = &all->items[done++];

			if (d->problem)
			{
				report_error(d->first_line, d->lines.data ? d->lines.data : "", d->problem_field, "22023", d->problem);
				rejected++;
			}
			else
				idx[n++] = (size_t) (d - all->items);
		}
		if (n > 0 && !send_batch(conn, all, idx, n, &inserted, &skipped, &rejected, &why))
		{
			/* refused whole: one by one, so that the one it cannot take is named and the others land */
			free(why.message);
			for (size_t k = 0; k < n; k++)
			{
				refusal		one = {0};

				if (!send_batch(conn, all, &idx[k], 1, &inserted, &skipped, &rejected, &one))
				{
					doc		   *d = &all->items[idx[k]];

					report_error(d->first_line, d->lines.data, one.field, one.code, one.message);
					rejected++;
					free(one.message);
				}
			}
		}
		show_progress("households", (long) done, (long) all->n, rejected);
	}
	free(idx);
	end_progress();
	if (!quiet)
	{
		double		t = now_s() - t0;

		printf("%s: %zu households read; %ld registered, %ld already there, %ld rejected; %.1f s (%.0f households/s)\n",
			   path, all->n, inserted, skipped, rejected, t, t > 0 ? all->n / t : 0.0);
		if (errors_written > 0)
			printf("rejected lines, with field and reason: %s\n", errors_path);
	}
	return rejected > 0 ? EXIT_REJECTED : 0;
}

/* An external programme's list: all or nothing (a missing row ends a benefit). */
static int
import_external(PGconn *conn, const char *programme, const char *data, size_t len, bool is_csv, bool end_most, const char *path)
{
	sp_buf		rows = {0};
	long	   *row_lines = NULL;
	size_t		nrows = 0, cap = 0;
	long		bad = 0;
	const char *params[3];
	PGresult   *res;

	buf_add(&rows, "[");
	if (is_csv)
	{
		sp_csv_reader r;
		sp_csv_record hdr = {0}, rec = {0};
		sp_csv_status st;

		sp_csv_init(&r, data, len);
		if (sp_csv_next(&r, &hdr) != SP_CSV_RECORD)
			die(EXIT_USAGE, "the file has no header row");
		while ((st = sp_csv_next(&r, &rec)) != SP_CSV_END)
		{
			bool		first = true;

			if (st != SP_CSV_RECORD || rec.n != hdr.n)
			{
				report_error(rec.line, "", "$", "22P02", st != SP_CSV_RECORD ? sp_csv_message(st) : "the row does not have the header's number of fields");
				bad++;
				if (st == SP_CSV_UNTERMINATED)
					break;
				continue;
			}
			buf_add(&rows, nrows ? ",{" : "{");
			for (size_t i = 0; i < rec.n; i++)
				if (rec.fields[i][0] != '\0')
				{
					if (!first)
						buf_add(&rows, ",");
					buf_str(&rows, hdr.fields[i], hdr.field_len[i]);
					buf_add(&rows, ":");
					if (strcmp(hdr.fields[i], "amount") == 0 && looks_numeric(rec.fields[i]))
						buf_add(&rows, rec.fields[i]);
					else
						buf_str(&rows, rec.fields[i], rec.field_len[i]);
					first = false;
				}
			buf_add(&rows, "}");
			if (nrows == cap)
			{
				cap = cap ? cap * 2 : 4096;
				row_lines = realloc(row_lines, cap * sizeof(long));
				if (row_lines == NULL)
					die(EXIT_SERVER, "out of memory");
			}
			row_lines[nrows++] = rec.line;
		}
		sp_csv_record_free(&hdr);
		sp_csv_record_free(&rec);
	}
	else
	{
		docs		d = {0};

		read_jsonl(data, len, &d, &bad);
		for (size_t i = 0; i < d.n; i++)
		{
			if (i > 0)
				buf_add(&rows, ",");
			if (!sp_buf_append(&rows, d.items[i].json.data, d.items[i].json.len))
				die(EXIT_SERVER, "out of memory");
			if (nrows == cap)
			{
				cap = cap ? cap * 2 : 4096;
				row_lines = realloc(row_lines, cap * sizeof(long));
				if (row_lines == NULL)
					die(EXIT_SERVER, "out of memory");
			}
			row_lines[nrows++] = d.items[i].first_line;
		}
	}
	buf_add(&rows, "]");
	if (bad > 0)
	{
		printf("%s: %ld unreadable rows (see %s); the list is imported whole or not at all, so nothing was sent\n",
			   path, bad, errors_path);
		return EXIT_REJECTED;
	}
	params[0] = programme;
	params[1] = rows.data;
	params[2] = end_most ? "true" : "false";
	progress_t0 = now_s();
	res = PQexecParams(conn, "SELECT sp.import_external_beneficiaries($1, $2::jsonb, $3::boolean)::text", 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *field = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		long		line = 0;
		const char *b = field ? strchr(field, '[') : NULL;

		/* "rows[17].birth_date" (in the field, else the message): row 17 (from 0) is on its line */
		if (b == NULL && msg)
			b = strstr(msg, "rows[") ? strstr(msg, "rows[") + 4 : NULL;
		if (b)
		{
			long		idx = strtol(b + 1, NULL, 10);

			if (idx >= 0 && (size_t) idx < nrows)
				line = row_lines[idx];
		}
		if (sqlstate == NULL || (strncmp(sqlstate, "22", 2) != 0 && strncmp(sqlstate, "23", 2) != 0))
			die(EXIT_SERVER, "the list was refused: %s", PQerrorMessage(conn));
		report_error(line, "", field ? field : "$", sqlstate, msg ? msg : "");
		printf("%s: refused at line %ld (%s: %s); the list is imported whole or not at all, so nothing changed (see %s)\n",
			   path, line, field ? field : "$", msg ? msg : "", errors_path);
		PQclear(res);
		return EXIT_REJECTED;
	}
	if (!quiet)
		printf("%s: %zu rows of programme %s imported in %.1f s: %s\n", path, nrows, programme, now_s() - progress_t0, PQgetvalue(res, 0, 0));
	PQclear(res);
	sp_buf_free(&rows);
	free(row_lines);
	return 0;
}

static int
cmd_import(int argc, char **argv)
{
	const char *programme = NULL;
	const char *format = NULL;
	const char *path = NULL;
	long		batch = 1000;
	bool		end_most = false;
	char	   *data;
	size_t		len;
	bool		is_csv;
	PGconn	   *conn;
	char		default_errors[PATH_MAX];
	int			status;

	for (int i = 0; i < argc; i++)
	{
		const char *a = argv[i];

		if (strcmp(a, "--programme") == 0 && i + 1 < argc)
			programme = argv[++i];
		else if (strcmp(a, "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strcmp(a, "--errors") == 0 && i + 1 < argc)
			errors_path = argv[++i];
		else if (strcmp(a, "--batch") == 0 && i + 1 < argc)
		{
			char	   *e;

			batch = strtol(argv[++i], &e, 10);
			if (*e != '\0' || batch < 1 || batch > 100000)
				die(EXIT_USAGE, "--batch takes a number from 1 to 100000");
		}
		else if (strcmp(a, "--end-most") == 0)
			end_most = true;
		else if (a[0] == '-' && a[1] != '\0')
			die(EXIT_USAGE, "import: unknown option \"%s\" (see sp_registry --help)", a);
		else if (path == NULL)
			path = a;
		else
			die(EXIT_USAGE, "import takes one file");
	}
	if (path == NULL)
		die(EXIT_USAGE, "import: which file? (sp_registry import FILE)");
	if (format == NULL)
	{
		const char *dot = strrchr(path, '.');

		format = dot && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0 || strcasecmp(dot, ".json") == 0) ? "jsonl"
			: dot && strcasecmp(dot, ".csv") == 0 ? "csv" : NULL;
		if (format == NULL)
			die(EXIT_USAGE, "import: say --format csv or --format jsonl (the file name does not)");
	}
	if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)
		die(EXIT_USAGE, "--format is csv or jsonl");
	is_csv = strcmp(format, "csv") == 0;
	if (errors_path == NULL)
	{
		snprintf(default_errors, sizeof(default_errors), "%s.errors.csv", strcmp(path, "-") == 0 ? "stdin" : path);
		errors_path = default_errors;
	}
	unlink(errors_path);		/* (a report of an earlier run would mislead) */
	data = read_file(path, &len);
	conn = connect_db();
	if (programme)
		status = import_external(conn, programme, data, len, is_csv, end_most, path);
	else
	{
		docs		all = {0};
		long		bad = 0;

		if (is_csv)
		{
			load_catalogue(conn);
			read_registration_csv(data, len, &all, &bad);
		}
		else
			read_jsonl(data, len, &all, &bad);
		if (unreadable_rows > 0)
		{
			/* a row that cannot be read cannot be put in its household: nothing is sent */
			printf("%s: %ld rows cannot be read (see %s); nothing was sent, so that no household lands with a member missing: "
				   "fix them and import the file again\n", path, unreadable_rows, errors_path);
			status = EXIT_REJECTED;
		}
		else
			status = import_registrations(conn, &all, bad, (int) batch, path);
		for (size_t i = 0; i < all.n; i++)
		{
			sp_buf_free(&all.items[i].json);
			sp_buf_free(&all.items[i].lines);
			sp_buf_free(&all.items[i].first_values);
		}
		free(all.items);
	}
	if (errors_file)
		fclose(errors_file);
	free(data);
	PQfinish(conn);
	return status;
}

/* ------------------------------------------------------------------------ */
/* dedupe, report                                                           */

/* a query that may run long, with the elapsed time shown while it runs */
static PGresult *
run_with_timer(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params)
{
	double		t0 = now_s();
	PGresult   *res = NULL;
	PGresult   *r;

	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		die(EXIT_SERVER, "%s: %s", what, PQerrorMessage(conn));
	for (;;)
	{
		struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};

		if (!PQconsumeInput(conn))
			die(EXIT_SERVER, "%s: %s", what, PQerrorMessage(conn));
		if (!PQisBusy(conn))
			break;
		if (progress)
		{
			fprintf(stderr, "\r%s: running for %.0f s   ", what, now_s() - t0);
			fflush(stderr);
		}
		(void) poll(&pfd, 1, 500);
	}
	while ((r = PQgetResult(conn)) != NULL)
	{
		if (res == NULL)
			res = r;
		else
			PQclear(r);
	}
	if (progress)
		fprintf(stderr, "\r%s: done in %.1f s          \n", what, now_s() - t0);
	return res;
}

static int
cmd_dedupe(int argc, char **argv)
{
	const char *model = "person";
	const char *threshold = "0.9";
	const char *review = "0.5";
	const char *params[3];
	PGconn	   *conn;
	PGresult   *res;

	for (int i = 0; i < argc; i++)
	{
		if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
			model = argv[++i];
		else if (strcmp(argv[i], "--threshold") == 0 && i + 1 < argc)
			threshold = argv[++i];
		else if (strcmp(argv[i], "--review-threshold") == 0 && i + 1 < argc)
			review = argv[++i];
		else
			die(EXIT_USAGE, "dedupe: unknown option \"%s\" (see sp_registry --help)", argv[i]);
	}
	conn = connect_db();
	params[0] = model;
	params[1] = threshold;
	params[2] = review;
	res = run_with_timer(conn, "deduplicating persons",
						 "SELECT jsonb_pretty(sp.deduplicate_persons($1, $2::float8, $3::float8))", 3, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die(EXIT_SERVER, "dedupe: %s", PQresultErrorMessage(res));
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return 0;
}

static int
cmd_report(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *level = "1";
	const char *params[3];
	PGconn	   *conn;
	PGresult   *res;

	for (int i = 0; i < argc; i++)
	{
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--level") == 0 && i + 1 < argc)
			level = argv[++i];
		else
			die(EXIT_USAGE, "report: unknown option \"%s\" (see sp_registry --help)", argv[i]);
	}
	conn = connect_db();
	params[0] = from;
	params[1] = to;
	params[2] = level;
	res = run_with_timer(conn, "monitoring report",
						 "SELECT jsonb_pretty(sp.monitoring_report(coalesce($1::date, date_trunc('month', current_date)::date), "
						 "coalesce($2::date, current_date), $3::integer))", 3, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die(EXIT_SERVER, "report: %s", PQresultErrorMessage(res));
	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return 0;
}

/* gateway: the HTTP gateway, beside this program or on the PATH */
static int
cmd_gateway(int argc, char **argv, const char *self)
{
	char		path[PATH_MAX];
	char	  **args = xmalloc(sizeof(char *) * (size_t) (argc + 2));
	ssize_t		n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	(void) self;
	if (opt_host)
		setenv("PGHOST", opt_host, 1);
	if (opt_port)
		setenv("PGPORT", opt_port, 1);
	if (opt_user)
		setenv("PGUSER", opt_user, 1);
	if (opt_dbname)
		setenv("PGDATABASE", opt_dbname, 1);
	args[0] = "sp_registry_gateway";
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	args[argc + 1] = NULL;
	if (n > 0)
	{
		char	   *slash;

		path[n] = '\0';
		slash = strrchr(path, '/');
		if (slash && (size_t) (slash - path) + sizeof("/sp_registry_gateway") < sizeof(path))
		{
			strcpy(slash + 1, "sp_registry_gateway");
			execv(path, args);
		}
	}
	execvp("sp_registry_gateway", args);
	die(EXIT_USAGE, "cannot run sp_registry_gateway: %s", strerror(errno));
	return EXIT_USAGE;
}

static void
usage(FILE *out)
{
	fprintf(out,
			"sp_registry %s - the command-line tool of the sp_registry social registry\n"
			"\n"
			"Usage: sp_registry [CONNECTION OPTIONS] COMMAND [OPTIONS]\n"
			"\n"
			"Commands:\n"
			"  import FILE      registrations from CSV (a row per member; a \"household\" column groups them) or\n"
			"                   JSON lines (a registration document per line), in batches: good households land,\n"
			"                   rejected ones are listed in FILE.errors.csv with line, field and reason\n"
			"      --format csv|jsonl     when the file name does not say (.csv, .jsonl, .ndjson)\n"
			"      --batch N              households per batch (default 1000), each its own transaction\n"
			"      --errors FILE          where the rejected lines go (default FILE.errors.csv)\n"
			"      --programme NAME       the file is the whole beneficiary list of an external programme\n"
			"                             (imported whole or not at all: one bad row refuses it)\n"
			"      --end-most             with --programme: allow a list that ends most active benefits\n"
			"  dedupe           runs the person deduplication (sp.deduplicate_persons)\n"
			"      --model NAME (person)  --threshold P (0.9)  --review-threshold P (0.5)\n"
			"  report           prints the monitoring report (sp.monitoring_report)\n"
			"      --from DATE (first of this month)  --to DATE (today)  --level N (1)\n"
			"  gateway [OPTIONS]  runs the DCI HTTP gateway (sp_registry_gateway --help)\n"
			"\n"
			"Connection options (else the PG* variables: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, ...):\n"
			"  -h, --host HOST  -p, --port PORT  -U, --username USER  -d, --dbname DBNAME (or a connection string)\n"
			"\n"
			"Other options: -q, --quiet; --progress / --no-progress (default: when standard error is a terminal);\n"
			"  --help; --version\n"
			"\n"
			"Exit status: 0 done; 1 bad usage or file; 2 the database refused or could not be reached;\n"
			"3 done, but some rows were rejected (listed in the error file).\n", VERSION);
}

int
main(int argc, char **argv)
{
	int			i = 1;

	for (; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0)
		{
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0)
		{
			printf("sp_registry %s\n", VERSION);
			return 0;
		}
		if ((strcmp(a, "-h") == 0 || strcmp(a, "--host") == 0) && v)
			opt_host = argv[++i];
		else if ((strcmp(a, "-p") == 0 || strcmp(a, "--port") == 0) && v)
			opt_port = argv[++i];
		else if ((strcmp(a, "-U") == 0 || strcmp(a, "--username") == 0) && v)
			opt_user = argv[++i];
		else if ((strcmp(a, "-d") == 0 || strcmp(a, "--dbname") == 0) && v)
			opt_dbname = argv[++i];
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			quiet = true;
		else if (strcmp(a, "--progress") == 0)
			progress = 1;
		else if (strcmp(a, "--no-progress") == 0)
			progress = 0;
		else if (a[0] == '-')
		{
			fprintf(stderr, "sp_registry: unknown option \"%s\"\n\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
		else
			break;
	}
	if (progress < 0)
		progress = isatty(STDERR_FILENO) && !quiet;
	if (i >= argc)
	{
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "import") == 0)
		return cmd_import(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "dedupe") == 0)
		return cmd_dedupe(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "report") == 0)
		return cmd_report(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "gateway") == 0)
		return cmd_gateway(argc - i - 1, argv + i + 1, argv[0]);
	fprintf(stderr, "sp_registry: unknown command \"%s\"\n\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
