/*
 * sp_registry_gateway - the DCI social-registry API over HTTP.
 *
 * A small server in front of the SQL functions of sql/79_dci.sql:
 *
 *   POST /registry/sync/search      sp.dci_search      the on-search envelope
 *   POST /registry/search           sp.dci_search      ACK now, on-search POSTed to header.sender_uri
 *   POST /registry/subscribe        sp.dci_subscribe   ACK now, on-subscribe POSTed to header.sender_uri
 *   POST /registry/unsubscribe      sp.dci_unsubscribe ACK now, on-unsubscribe POSTed to header.sender_uri (if any)
 *   POST /registry/txn/status       sp.dci_txn_status  ACK now, txn-on-status POSTed to header.sender_uri
 *   POST /registry/sync/txn/status  sp.dci_txn_status  the txn-on-status envelope
 *
 * and notify: a thread LISTENs on sp_outbox and POSTs each subscriber's
 * notifications (sp.dci_notify_claim) to its callbacks, acknowledging the
 * events once delivered (sp.dci_notify_ack).
 *
 * Every request carries "Authorization: Bearer <token>"; the token names an
 * API client (sp.register_api_client), and the request runs as that client's
 * own database role (SET LOCAL ROLE in its transaction), so its grants, area
 * scope and audit records are its own.  The gateway's login is a member of
 * sp_gateway (NOINHERIT): it may act as registered clients, holds none of
 * their privileges itself, and may not be a superuser.  Callbacks go only to
 * URLs under the client's registered prefixes.
 *
 * Connection: the standard PG* variables (PGHOST, PGPORT, PGDATABASE,
 * PGUSER, PGPASSWORD or ~/.pgpass, PGSSLMODE, ...).  docs/interoperability.md
 * documents the options; --help lists them.
 */
#include "sp_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GATEWAY_VERSION "0.1.0"
#define MAX_SENDER 100			/* sender_id: at most 99 characters */
#define MAX_ROLE 64				/* NAMEDATALEN */
#define MAX_PREFIXES 20
#define AUTH_CACHE_SIZE 256
#define RATE_TABLE_SIZE 1024

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */

typedef struct config
{
	char		host[256];
	int			port;
	int			pool_size;
	int			workers;
	size_t		max_body;
	double		rate;
	double		burst;
	int			auth_cache_s;
	int			statement_timeout_ms;
	int			callback_timeout_ms;
	int			notify_interval_ms;
	int			max_connections;
	int			queue_max;
	int			queue_per_client;
	size_t		queue_bytes_per_client;
	int			max_per_ip;
	int			idle_timeout_s;
	bool		deny_private_callbacks;
	bool		notify;
	const char *tls_cert;		/* PEM files: HTTPS when both are given */
	const char *tls_key;
	const char *access_log;
} config;

static config cfg = {
	.host = "127.0.0.1", .port = 8080, .pool_size = 8, .workers = 2, .max_body = 1048576,
	.rate = 50, .burst = 100, .auth_cache_s = 5, .statement_timeout_ms = 10000,
	.callback_timeout_ms = 10000, .notify_interval_ms = 5000, .max_connections = 256,
	.queue_max = 1000, .queue_per_client = 100, .queue_bytes_per_client = 64 * 1048576, .max_per_ip = 32,
	.idle_timeout_s = 15, .deny_private_callbacks = false, .notify = true, .access_log = "-",
};

static volatile sig_atomic_t stopping = 0;

/* ------------------------------------------------------------------------ */
/* Small utilities                                                          */

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* UTC, ISO 8601 with milliseconds: 24 characters and the NUL */
static void
iso_now(char out[32])
{
	struct timespec ts;
	struct tm	tm;

	char		base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03dZ", base, (int) ((ts.tv_nsec / 1000000) % 1000));
}

static void
new_uuid(char out[37])
{
	unsigned char r[16];
	size_t		got = 0;

	while (got < sizeof(r))
	{
		ssize_t		n = getrandom(r + got, sizeof(r) - got, 0);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			/* no randomness: fall back on time and counter (still unique per process) */
			static unsigned long counter;
			unsigned long c = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
			double		t = mono_now();

			memcpy(r, &t, sizeof(t));
			memcpy(r + 8, &c, sizeof(c));
			break;
		}
		got += (size_t) n;
	}
	sp_uuid_format(r, out);
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "sp_registry_gateway: out of memory (%zu bytes)\n", n);
		abort();
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t		n = strlen(s) + 1;
	char	   *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

/* A JSON string literal of s (quotes included), malloc'd. */
static char *
json_str(const char *s)
{
	size_t		need = sp_json_escape(s, NULL, 0);
	char	   *out = xmalloc(need + 3);

	out[0] = '"';
	sp_json_escape(s, out + 1, need + 1);
	out[need + 1] = '"';
	out[need + 2] = '\0';
	return out;
}

/* ------------------------------------------------------------------------ */
/* Access log: one JSON object per line, never a body or a token            */

static FILE *access_log;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void
log_line(const char *fmt, ...)
{
	char		ts[32];
	va_list		ap;

	iso_now(ts);
	pthread_mutex_lock(&log_mu);
	fprintf(access_log, "{\"ts\":\"%s\",", ts);
	va_start(ap, fmt);
	vfprintf(access_log, fmt, ap);
	va_end(ap);
	fputs("}\n", access_log);
	fflush(access_log);
	pthread_mutex_unlock(&log_mu);
}

/* {"event": event, [sender_id,] key: value} with the strings escaped */
static void
log_event(const char *event, const char *sender_id, const char *key, const char *value)
{
	char	   *s = sender_id ? json_str(sender_id) : NULL;
	char	   *v = json_str(value ? value : "");

	log_line("\"event\":\"%s\",%s%s%s\"%s\":%s", event, s ? "\"sender_id\":" : "", s ? s : "", s ? "," : "", key, v);
	free(s);
	free(v);
}

/* ------------------------------------------------------------------------ */
/* Database connections                                                     */

static PGconn *
db_connect(void)
{
	static const char *const keys[] = {"fallback_application_name", "client_encoding", NULL};
	static const char *const values[] = {"sp_registry_gateway", "UTF8", NULL};

	return PQconnectdbParams(keys, values, 0);
}

typedef struct pool
{
	pthread_mutex_t mu;
	pthread_cond_t cv;
	PGconn	  **conns;
	bool	   *busy;
	int			n;
} pool;

static pool db_pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void
pool_init(int n)
{
	db_pool.n = n;
	db_pool.conns = xmalloc(sizeof(PGconn *) * (size_t) n);
	db_pool.busy = xmalloc(sizeof(bool) * (size_t) n);
	for (int i = 0; i < n; i++)
	{
		db_pool.conns[i] = NULL;
		db_pool.busy[i] = false;
	}
}

/* A connected connection, or NULL after timeout_ms (or when it cannot connect). */
static PGconn *
pool_get(int *slot, int timeout_ms)
{
	struct timespec until;
	int			i = -1;
	PGconn	   *conn;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L)
	{
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&db_pool.mu);
	for (;;)
	{
		for (i = 0; i < db_pool.n; i++)
			if (!db_pool.busy[i])
				break;
		if (i < db_pool.n)
			break;
		if (pthread_cond_timedwait(&db_pool.cv, &db_pool.mu, &until) == ETIMEDOUT)
		{
			pthread_mutex_unlock(&db_pool.mu);
			return NULL;
		}
	}
	db_pool.busy[i] = true;
	conn = db_pool.conns[i];
	pthread_mutex_unlock(&db_pool.mu);

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		if (conn)
			PQfinish(conn);
		conn = db_connect();
		if (PQstatus(conn) != CONNECTION_OK)
		{
			log_event("database", NULL, "error", PQerrorMessage(conn));
			PQfinish(conn);
			conn = NULL;
		}
		pthread_mutex_lock(&db_pool.mu);
		db_pool.conns[i] = conn;
		if (conn == NULL)
		{
			db_pool.busy[i] = false;
			pthread_cond_signal(&db_pool.cv);
		}
		pthread_mutex_unlock(&db_pool.mu);
		if (conn == NULL)
			return NULL;
	}
	*slot = i;
	return conn;
}

static void
pool_put(int slot)
{
	pthread_mutex_lock(&db_pool.mu);
	db_pool.busy[slot] = false;
	pthread_cond_signal(&db_pool.cv);
	pthread_mutex_unlock(&db_pool.mu);
}

static void
pool_close(void)
{
	for (int i = 0; i < db_pool.n; i++)
		if (db_pool.conns[i])
			PQfinish(db_pool.conns[i]);
	free(db_pool.conns);
	free(db_pool.busy);
}

/* The SQLSTATE and message of a failed result, once (the first failure wins). */
static void
note_error(PGresult *res, PGconn *conn, char sqlstate[6], char **errmsg)
{
	const char *code;
	const char *msg;

	if (sqlstate[0] != '\0')
		return;
	code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	snprintf(sqlstate, 6, "%s", code ? code : (PQstatus(conn) == CONNECTION_OK ? "XX000" : "08006"));
	*errmsg = xstrdup(msg ? msg : PQerrorMessage(conn));
}

/*
 * fn(body::jsonb, correlation_id) run as role, in its own transaction with a
 * statement timeout: the text of its result (malloc'd), or NULL with the
 * SQLSTATE (and message, malloc'd) of the failure.  The role, the body and
 * the correlation id go as parameters, never into the statement's text: a
 * server log of failed statements holds no request.  fn comes from the
 * gateway's own route table.  The transaction always ends (COMMIT, or
 * ROLLBACK after an error), and with it the role.
 */
static char *
call_as(PGconn *conn, const char *role, const char *fn, const char *body, size_t body_len,
		const char *correlation_id, char sqlstate[6], char **errmsg)
{
	char		timeout[32];
	char		sql[128];
	const char *params[2];
	int			lengths[2];
	int			formats[2] = {0, 0};
	char	   *result = NULL;
	PGresult   *res;

	strcpy(sqlstate, "");
	*errmsg = NULL;
	snprintf(timeout, sizeof(timeout), "%d", cfg.statement_timeout_ms);
	snprintf(sql, sizeof(sql), "SELECT %s($1::jsonb, $2)", fn);

	res = PQexec(conn, "BEGIN");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		note_error(res, conn, sqlstate, errmsg);
	PQclear(res);
	if (sqlstate[0] == '\0')
	{
		/* SET LOCAL ROLE and statement_timeout, by value */
		params[0] = role;
		params[1] = timeout;
		res = PQexecParams(conn, "SELECT set_config('role', $1, true), set_config('statement_timeout', $2, true)",
						   2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			note_error(res, conn, sqlstate, errmsg);
		PQclear(res);
	}
	if (sqlstate[0] == '\0')
	{
		params[0] = body;
		lengths[0] = (int) body_len;
		params[1] = correlation_id;
		lengths[1] = correlation_id ? (int) strlen(correlation_id) : 0;
		res = PQexecParams(conn, sql, 2, NULL, params, lengths, formats, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
			result = xstrdup(PQgetvalue(res, 0, 0));
		else
			note_error(res, conn, sqlstate, errmsg);
		PQclear(res);
	}
	res = PQexec(conn, sqlstate[0] == '\0' ? "COMMIT" : "ROLLBACK");
	if (sqlstate[0] == '\0' && PQresultStatus(res) != PGRES_COMMAND_OK)
		note_error(res, conn, sqlstate, errmsg);
	PQclear(res);
	/* never hand the connection on inside a transaction (nor as the client's role) */
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	if (sqlstate[0] != '\0')
	{
		free(result);
		return NULL;
	}
	return result;
}

/* ------------------------------------------------------------------------ */
/* Clients: token -> client, cached for a few seconds; rate per client      */

typedef struct client
{
	char		sender_id[MAX_SENDER];
	char		role[MAX_ROLE];
	char		token_sha256[65];	/* hex: how the worker finds the client again */
	int			nprefixes;
	char	   *prefixes[MAX_PREFIXES];
} client;

typedef struct auth_entry
{
	bool		used;
	char		digest[65];
	client		c;
	double		expires;
} auth_entry;

static auth_entry auth_cache[AUTH_CACHE_SIZE];
static pthread_mutex_t auth_mu = PTHREAD_MUTEX_INITIALIZER;

static void
client_copy(client *dst, const client *src)
{
	memcpy(dst, src, sizeof(*dst));
	for (int i = 0; i < src->nprefixes; i++)
		dst->prefixes[i] = xstrdup(src->prefixes[i]);
}

static void
client_free(client *c)
{
	for (int i = 0; i < c->nprefixes; i++)
		free(c->prefixes[i]);
	c->nprefixes = 0;
}

/* equal digests, in time that does not depend on where they differ */
static bool
same_digest(const char *a, const char *b)
{
	unsigned char diff = 0;

	for (int i = 0; i < 64; i++)
		diff |= (unsigned char) (a[i] ^ b[i]);
	return diff == 0;
}

typedef enum
{
	AUTH_OK, AUTH_UNKNOWN, AUTH_ERROR
} auth_result;

/*
 * The client of a token's SHA-256 (hex).  Only the digest leaves the
 * gateway: the database never sees a token, so no statement log holds one.
 */
static auth_result
authenticate_digest(const char *digest, client *out)
{
	double		now = mono_now();
	PGconn	   *conn;
	int			slot;
	PGresult   *res;
	const char *params[1];
	auth_result r = AUTH_UNKNOWN;

	if (cfg.auth_cache_s > 0)
	{
		pthread_mutex_lock(&auth_mu);
		for (int i = 0; i < AUTH_CACHE_SIZE; i++)
			if (auth_cache[i].used && auth_cache[i].expires > now && same_digest(auth_cache[i].digest, digest))
			{
				client_copy(out, &auth_cache[i].c);
				pthread_mutex_unlock(&auth_mu);
				return AUTH_OK;
			}
		pthread_mutex_unlock(&auth_mu);
	}
	conn = pool_get(&slot, 3000);
	if (conn == NULL)
		return AUTH_ERROR;
	params[0] = digest;
	res = PQexecParams(conn,
					   "SELECT a.sender_id, a.client_role, p FROM sp.api_client_authenticate(decode($1, 'hex')) a "
					   "LEFT JOIN LATERAL unnest(a.callback_prefixes) WITH ORDINALITY x (p, n) ON true ORDER BY x.n",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		log_event("authenticate", NULL, "error", PQerrorMessage(conn));
		r = AUTH_ERROR;
	}
	else if (PQntuples(res) > 0)
	{
		memset(out, 0, sizeof(*out));
		snprintf(out->sender_id, sizeof(out->sender_id), "%s", PQgetvalue(res, 0, 0));
		snprintf(out->role, sizeof(out->role), "%s", PQgetvalue(res, 0, 1));
		memcpy(out->token_sha256, digest, 65);
		for (int i = 0; i < PQntuples(res) && out->nprefixes < MAX_PREFIXES; i++)
			if (!PQgetisnull(res, i, 2))
				out->prefixes[out->nprefixes++] = xstrdup(PQgetvalue(res, i, 2));
		r = AUTH_OK;
	}
	PQclear(res);
	pool_put(slot);

	if (r == AUTH_OK && cfg.auth_cache_s > 0)
	{
		int			victim = 0;

		pthread_mutex_lock(&auth_mu);
		for (int i = 0; i < AUTH_CACHE_SIZE; i++)
		{
			if (!auth_cache[i].used || auth_cache[i].expires <= now)
			{
				victim = i;
				break;
			}
			if (auth_cache[i].expires < auth_cache[victim].expires)
				victim = i;
		}
		if (auth_cache[victim].used)
			client_free(&auth_cache[victim].c);
		auth_cache[victim].used = true;
		memcpy(auth_cache[victim].digest, digest, 65);
		client_copy(&auth_cache[victim].c, out);
		auth_cache[victim].expires = now + cfg.auth_cache_s;
		pthread_mutex_unlock(&auth_mu);
	}
	return r;
}

static auth_result
authenticate(const char *token, size_t len, client *out)
{
	char		digest[65];

	sp_sha256_hex(token, len, digest);
	return authenticate_digest(digest, out);
}

/*
 * Per client: its rate bucket and its asynchronous requests waiting; per
 * remote address: failed authentications.  Fixed tables, the least recently
 * used entry giving way when full.
 */
typedef struct rate_entry
{
	char		key[MAX_SENDER];
	sp_rate_bucket b;
	int			queued;
	size_t		queued_bytes;
	double		last_used;
} rate_entry;

static rate_entry rates[RATE_TABLE_SIZE];
static rate_entry failures[RATE_TABLE_SIZE];
static pthread_mutex_t rate_mu = PTHREAD_MUTEX_INITIALIZER;

/* the entry of key (rate_mu held): found, or the least recently used one without queued work, reset */
static rate_entry *
rate_entry_for(rate_entry *table, const char *key)
{
	int			victim = -1;

	for (int i = 0; i < RATE_TABLE_SIZE; i++)
	{
		if (table[i].key[0] != '\0' && strcmp(table[i].key, key) == 0)
		{
			table[i].last_used = mono_now();
			return &table[i];
		}
		if (table[i].queued == 0 && (victim < 0 || table[i].last_used < table[victim].last_used))
			victim = i;
	}
	if (victim < 0)
		victim = 0;				/* (every entry has queued work: not reachable with the queue's limits) */
	memset(&table[victim], 0, sizeof(rate_entry));
	snprintf(table[victim].key, sizeof(table[victim].key), "%s", key);
	table[victim].last_used = mono_now();
	return &table[victim];
}

static bool
rate_allows(const char *sender_id, double *retry_after)
{
	bool		ok;

	if (cfg.rate <= 0)
		return true;
	pthread_mutex_lock(&rate_mu);
	ok = sp_rate_take(&rate_entry_for(rates, sender_id)->b, mono_now(), cfg.rate, cfg.burst, retry_after);
	pthread_mutex_unlock(&rate_mu);
	return ok;
}

/* A remote address's failed authentications: 10 a second, 30 at once. */
#define FAIL_RATE 10.0
#define FAIL_BURST 30.0

static bool
failures_exhausted(const char *addr)
{
	rate_entry *e;
	bool		exhausted;

	pthread_mutex_lock(&rate_mu);
	e = rate_entry_for(failures, addr);
	/* (a look, not a take: refill to now) */
	if (!e->b.started)
		exhausted = false;
	else
	{
		double		t = mono_now();
		double		tokens = e->b.tokens + (t - e->b.last) * FAIL_RATE;

		exhausted = tokens < 1;
	}
	pthread_mutex_unlock(&rate_mu);
	return exhausted;
}

static void
failure_noted(const char *addr)
{
	pthread_mutex_lock(&rate_mu);
	(void) sp_rate_take(&rate_entry_for(failures, addr)->b, mono_now(), FAIL_RATE, FAIL_BURST, NULL);
	pthread_mutex_unlock(&rate_mu);
}

/* A client's waiting asynchronous work: within its share? (taken when yes) */
static bool
client_queue_take(const char *sender_id, size_t bytes)
{
	rate_entry *e;
	bool		ok;

	pthread_mutex_lock(&rate_mu);
	e = rate_entry_for(rates, sender_id);
	ok = e->queued < cfg.queue_per_client && e->queued_bytes + bytes <= cfg.queue_bytes_per_client;
	if (ok)
	{
		e->queued++;
		e->queued_bytes += bytes;
	}
	pthread_mutex_unlock(&rate_mu);
	return ok;
}

static void
client_queue_release(const char *sender_id, size_t bytes)
{
	rate_entry *e;

	pthread_mutex_lock(&rate_mu);
	e = rate_entry_for(rates, sender_id);
	if (e->queued > 0)
		e->queued--;
	e->queued_bytes = e->queued_bytes >= bytes ? e->queued_bytes - bytes : 0;
	pthread_mutex_unlock(&rate_mu);
}

/* ------------------------------------------------------------------------ */
/* Callbacks (libcurl): only under the client's prefixes, no redirects      */

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void) ptr;
	(void) userdata;
	return size * nmemb;
}

/*
 * Where a callback may connect (curl's opensocket hook): to the address a
 * registered prefix names literally, or, for a host name, to any address
 * sp_http_address_allowed accepts: a client cannot point its callback name
 * at the gateway's own host, link-local cloud metadata or (with
 * --deny-private-callbacks) the private network.
 */
static curl_socket_t
open_callback_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	bool		literal = *(bool *) clientp;
	bool		ok = false;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (literal)
		ok = true;
	else if (a->family == AF_INET)
		ok = sp_http_address_allowed(4, (const unsigned char *) &((const struct sockaddr_in *) &a->addr)->sin_addr, cfg.deny_private_callbacks);
	else if (a->family == AF_INET6)
		ok = sp_http_address_allowed(6, (const unsigned char *) &((const struct sockaddr_in6 *) &a->addr)->sin6_addr, cfg.deny_private_callbacks);
	if (!ok)
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype, a->protocol);
}

/* whether the URL's host is an IPv4 address literal */
static bool
host_is_literal(const char *url)
{
	const char *p = strstr(url, "://");
	char		host[64];
	size_t		n;
	struct in_addr ia;

	if (p == NULL)
		return false;
	p += 3;
	n = strcspn(p, ":/?#");
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, &ia) == 1;
}

/* The HTTP status of the POST, or -1 when it could not be made. */
static long
post_json(const char *url, const char *body)
{
	CURL	   *c = curl_easy_init();
	struct curl_slist *h = NULL;
	long		code = -1;
	bool		literal = host_is_literal(url);

	if (c == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_callback_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &literal);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) cfg.callback_timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) (cfg.callback_timeout_ms < 5000 ? cfg.callback_timeout_ms : 5000));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sp_registry_gateway/" GATEWAY_VERSION);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

/* ------------------------------------------------------------------------ */
/* Routes                                                                   */

typedef struct route
{
	const char *path;
	const char *fn;
	const char *action;			/* for the log */
	bool		async;
	bool		needs_callback; /* an asynchronous answer with nowhere to go is refused */
} route;

static const route routes[] = {
	{"/registry/sync/search", "sp.dci_search", "search", false, false},
	{"/registry/search", "sp.dci_search", "search", true, true},
	{"/registry/subscribe", "sp.dci_subscribe", "subscribe", true, false},
	{"/registry/unsubscribe", "sp.dci_unsubscribe", "unsubscribe", true, false},
	{"/registry/txn/status", "sp.dci_txn_status", "txn-status", true, true},
	{"/registry/sync/txn/status", "sp.dci_txn_status", "txn-status", false, false},
};

/* ------------------------------------------------------------------------ */
/* Asynchronous jobs                                                        */

typedef struct job
{
	const route *rt;
	client		c;
	char	   *body;
	size_t		body_len;
	char	   *callback;		/* NULL: no callback */
	char		correlation_id[37];
} job;

static struct
{
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job		  **items;
	int			head;
	int			count;
	bool		closed;
}			queue = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static bool
queue_push(job *j)
{
	bool		ok = false;

	pthread_mutex_lock(&queue.mu);
	if (!queue.closed && queue.count < cfg.queue_max)
	{
		queue.items[(queue.head + queue.count) % cfg.queue_max] = j;
		queue.count++;
		ok = true;
		pthread_cond_signal(&queue.cv);
	}
	pthread_mutex_unlock(&queue.mu);
	return ok;
}

/* the next job, or NULL once the queue is closed and empty */
static job *
queue_pop(void)
{
	job		   *j = NULL;

	pthread_mutex_lock(&queue.mu);
	while (queue.count == 0 && !queue.closed)
		pthread_cond_wait(&queue.cv, &queue.mu);
	if (queue.count > 0)
	{
		j = queue.items[queue.head];
		queue.head = (queue.head + 1) % cfg.queue_max;
		queue.count--;
	}
	pthread_mutex_unlock(&queue.mu);
	return j;
}

static void
job_free(job *j)
{
	client_free(&j->c);
	free(j->body);
	free(j->callback);
	free(j);
}

static void *
worker_main(void *arg)
{
	job		   *j;

	(void) arg;
	while ((j = queue_pop()) != NULL)
	{
		char		sqlstate[6];
		char	   *err = NULL;
		char	   *answer = NULL;
		int			slot;
		PGconn	   *conn = pool_get(&slot, 30000);
		long		code = 0;
		int			attempts = 0;
		double		t0 = mono_now();

		if (conn != NULL)
		{
			answer = call_as(conn, j->c.role, j->rt->fn, j->body, j->body_len, j->correlation_id, sqlstate, &err);
			pool_put(slot);
		}
		else
		{
			strcpy(sqlstate, "08006");
			err = xstrdup("no database connection");
		}
		if (answer && j->callback)
		{
			/*
			 * The callback was checked against the client's prefixes at the
			 * request; again now against its prefixes of now (an
			 * administrator may have narrowed them, or revoked the client),
			 * then up to 3 tries.
			 */
			client		now_cl;
			auth_result ar = authenticate_digest(j->c.token_sha256, &now_cl);

			if (ar != AUTH_OK)
				code = ar == AUTH_UNKNOWN ? -3 : -4;
			else
			{
				if (!sp_http_callback_allowed(j->callback, (const char *const *) now_cl.prefixes, (size_t) now_cl.nprefixes))
					code = -2;
				else
					for (attempts = 1; attempts <= 3; attempts++)
					{
						code = post_json(j->callback, answer);
						if (code >= 200 && code < 300)
							break;
						if (attempts < 3 && !stopping)
							sleep((unsigned) attempts);
					}
				client_free(&now_cl);
			}
		}
		client_queue_release(j->c.sender_id, j->body_len);
		{
			char	   *sender = json_str(j->c.sender_id);
			char	   *e = err ? json_str(err) : NULL;

			log_line("\"event\":\"%s\",\"sender_id\":%s,\"correlation_id\":\"%s\",\"answered\":%s,%s%s%s\"callback_status\":%ld,\"attempts\":%d,\"ms\":%.1f",
					 j->rt->action, sender, j->correlation_id, answer ? "true" : "false",
					 e ? "\"error\":" : "", e ? e : "", e ? "," : "",
					 code, attempts, (mono_now() - t0) * 1000);
			free(sender);
			free(e);
		}
		free(answer);
		free(err);
		job_free(j);
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Notifications                                                            */

static void
notify_one(PGconn *conn, const char *sender_id, const char *role, char **prefixes, int nprefixes, bool *more)
{
	char	   *ident = PQescapeIdentifier(conn, role, strlen(role));
	char		sql[512];
	PGresult   *res = NULL;
	PGresult   *r;
	bool		all_delivered = true;
	size_t		ids_len = 2;
	char	   *ids;
	int			rows = 0;
	int			delivered = 0;

	if (ident == NULL)
		return;
	snprintf(sql, sizeof(sql),
			 "BEGIN; SET LOCAL ROLE %s; SET LOCAL statement_timeout = %d; "
			 "SELECT subscription_code, callback_uri, notification::text, event_ids::text FROM sp.dci_notify_claim(100); COMMIT",
			 ident, cfg.statement_timeout_ms);
	if (!PQsendQuery(conn, sql))
	{
		PQfreemem(ident);
		return;
	}
	while ((r = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(r) == PGRES_TUPLES_OK && res == NULL)
			res = r;
		else
		{
			if (PQresultStatus(r) == PGRES_FATAL_ERROR)
				log_event("notify", sender_id, "error",
						  PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "error");
			PQclear(r);
		}
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	if (res == NULL)
	{
		PQfreemem(ident);
		return;
	}
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++)
		ids_len += strlen(PQgetvalue(res, i, 3)) + 1;
	ids = xmalloc(ids_len + 2);
	strcpy(ids, "{");
	for (int i = 0; i < rows; i++)
	{
		const char *url = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
		const char *body = PQgetvalue(res, i, 2);
		const char *evs = PQgetvalue(res, i, 3);
		size_t		el = strlen(evs);
		long		code;

		/* "{1,2,3}" of each notification into one list */
		if (el > 2)
		{
			if (strlen(ids) > 1)
				strcat(ids, ",");
			strncat(ids, evs + 1, el - 2);
		}
		if (url == NULL || !sp_http_callback_allowed(url, (const char *const *) prefixes, (size_t) nprefixes))
		{
			/* nowhere it may go: dropped (logged), not retried forever */
			log_event("notify", sender_id, "dropped", "the callback is not under the client's prefixes");
			continue;
		}
		if (!all_delivered)
			continue;			/* one failed: the rest of this claim waits too (no timeout after timeout) */
		code = post_json(url, body);
		{
			char	   *sj = json_str(sender_id);
			char	   *cj = json_str(PQgetvalue(res, i, 0));

			log_line("\"event\":\"notify\",\"sender_id\":%s,\"subscription\":%s,\"callback_status\":%ld", sj, cj, code);
			free(sj);
			free(cj);
		}
		if (code >= 200 && code < 300)
			delivered++;
		else
			all_delivered = false;
	}
	strcat(ids, "}");
	PQclear(res);
	/* acknowledged only when every notification of the claim arrived: else given again after the lease */
	if (rows > 0 && all_delivered)
	{
		char	   *lit = PQescapeLiteral(conn, ids, strlen(ids));
		size_t		len = (lit ? strlen(lit) : 0) + strlen(ident) + 200;
		char	   *ack = xmalloc(len);

		if (lit)
		{
			snprintf(ack, len, "BEGIN; SET LOCAL ROLE %s; SELECT sp.dci_notify_ack(%s::bigint[]); COMMIT", ident, lit);
			if (PQsendQuery(conn, ack))
				while ((r = PQgetResult(conn)) != NULL)
					PQclear(r);
			if (PQtransactionStatus(conn) != PQTRANS_IDLE)
				PQclear(PQexec(conn, "ROLLBACK"));
			PQfreemem(lit);
		}
		free(ack);
	}
	if (rows > 0 && all_delivered)
		*more = true;			/* a batch went: look again before sleeping */
	(void) delivered;
	free(ids);
	PQfreemem(ident);
}

static void *
notifier_main(void *arg)
{
	PGconn	   *conn = NULL;

	(void) arg;
	while (!stopping)
	{
		PGresult   *res;
		bool		more = false;

		if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		{
			if (conn)
				PQfinish(conn);
			conn = db_connect();
			if (PQstatus(conn) != CONNECTION_OK)
			{
				log_event("notify", NULL, "error", PQerrorMessage(conn));
				PQfinish(conn);
				conn = NULL;
				for (int i = 0; i < 50 && !stopping; i++)
					usleep(100000);
				continue;
			}
			PQclear(PQexec(conn, "LISTEN sp_outbox"));
		}
		res = PQexec(conn, "SELECT s.sender_id, s.client_role, p FROM sp.dci_subscribers() s "
					 "LEFT JOIN LATERAL unnest(s.callback_prefixes) WITH ORDINALITY x (p, n) ON true ORDER BY 1, x.n");
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
		{
			int			n = PQntuples(res);
			int			i = 0;

			while (i < n && !stopping)
			{
				const char *sender = PQgetvalue(res, i, 0);
				char		role[MAX_ROLE];
				char	   *prefixes[MAX_PREFIXES];
				int			np = 0;

				snprintf(role, sizeof(role), "%s", PQgetvalue(res, i, 1));
				while (i < n && strcmp(PQgetvalue(res, i, 0), sender) == 0)
				{
					if (!PQgetisnull(res, i, 2) && np < MAX_PREFIXES)
						prefixes[np++] = PQgetvalue(res, i, 2);
					i++;
				}
				notify_one(conn, sender, role, prefixes, np, &more);
			}
		}
		PQclear(res);
		if (more)
			continue;
		/* sleep until the outbox speaks, the interval passes or we stop */
		{
			double		until = mono_now() + cfg.notify_interval_ms / 1000.0;
			bool		woke = false;

			while (!stopping && !woke && mono_now() < until && PQstatus(conn) == CONNECTION_OK)
			{
				struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
				PGnotify   *nt;

				if (poll(&pfd, 1, 200) > 0)
				{
					if (!PQconsumeInput(conn))
						break;
					while ((nt = PQnotifies(conn)) != NULL)
					{
						woke = true;
						PQfreemem(nt);
					}
				}
			}
		}
	}
	if (conn)
		PQfinish(conn);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* HTTP                                                                     */

typedef struct request
{
	char	   *buf;
	size_t		len;
	size_t		cap;
	bool		too_large;
	double		t0;
	const struct route *rt;
	bool		authenticated;	/* the request state's client is filled */
	unsigned int early_status;	/* refused before the body: status, body, Retry-After */
	char	   *early_body;
	const char *early_retry;
	char	   *early_sender;
} request;

static volatile int active_requests = 0;

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned int status, char *body, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (r == NULL)
	{
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (retry_after)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* the spec's HttpErrorResponse: {"errors": [{"code", "message"}]} */
static char *
http_error_body(const char *code, const char *message)
{
	char	   *m = json_str(message);
	size_t		len = strlen(m) + strlen(code) + 64;
	char	   *out = xmalloc(len);

	snprintf(out, len, "{\"errors\":[{\"code\":\"%s\",\"message\":%s}]}", code, m);
	free(m);
	return out;
}

/* the ACK of an asynchronous route: ACK, or ERR with the error */
static char *
ack_body(const char *status, const char *correlation_id, const char *code, const char *message)
{
	char		ts[32];
	char	   *m = message ? json_str(message) : NULL;
	size_t		len = (m ? strlen(m) : 0) + 256;
	char	   *out = xmalloc(len);

	iso_now(ts);
	if (code)
		snprintf(out, len, "{\"message\":{\"ack_status\":\"%s\",\"timestamp\":\"%s\",\"correlation_id\":\"%s\",\"error\":{\"code\":\"%s\",\"message\":%s}}}",
				 status, ts, correlation_id, code, m ? m : "\"\"");
	else
		snprintf(out, len, "{\"message\":{\"ack_status\":\"%s\",\"timestamp\":\"%s\",\"correlation_id\":\"%s\"}}", status, ts, correlation_id);
	free(m);
	return out;
}

static void
access_line(struct MHD_Connection *c, const char *method, const char *url, unsigned int status, double t0,
			const char *sender_id, const char *correlation_id)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char		addr[INET6_ADDRSTRLEN] = "?";
	char	   *u = json_str(url);
	char	   *m = json_str(method);
	char	   *s = sender_id ? json_str(sender_id) : NULL;

	if (ci && ci->client_addr)
	{
		if (ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *) ci->client_addr)->sin_addr, addr, sizeof(addr));
		else if (ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ci->client_addr)->sin6_addr, addr, sizeof(addr));
	}
	log_line("\"remote\":\"%s\",\"method\":%s,\"path\":%s,\"status\":%u,\"ms\":%.1f%s%s%s%s%s",
			 addr, m, u, status, (mono_now() - t0) * 1000,
			 s ? ",\"sender_id\":" : "", s ? s : "",
			 correlation_id ? ",\"correlation_id\":\"" : "", correlation_id ? correlation_id : "", correlation_id ? "\"" : "");
	free(u);
	free(m);
	free(s);
}

/* the remote address, for the log and the failed-authentication limit */
static void
remote_addr(struct MHD_Connection *c, char *addr, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(addr, len, "?");
	if (ci && ci->client_addr)
	{
		if (ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *) ci->client_addr)->sin_addr, addr, (socklen_t) len);
		else if (ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ci->client_addr)->sin6_addr, addr, (socklen_t) len);
	}
}

/* refuse now, before any of the body is read: remembered and sent at the end if it cannot go now */
static void
refuse(request *rq, unsigned int status, char *body, const char *retry_after, const char *sender_id)
{
	rq->early_status = status;
	rq->early_body = body;
	rq->early_retry = retry_after;
	rq->early_sender = sender_id ? xstrdup(sender_id) : NULL;
}

/*
 * The checks that need no body, on the first call (headers only): route,
 * method, size, token, rates, content type.  A request refused here is
 * refused before its body is read or buffered.
 */
static void
precheck(struct MHD_Connection *c, const char *url, const char *method, request *rq, client *cl)
{
	const char *auth;
	const char *ctype;
	const char *clen;
	const char *tok;
	size_t		toklen;
	double		retry;
	char		addr[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(url, routes[i].path) == 0)
			rq->rt = &routes[i];
	if (stopping)
		return refuse(rq, MHD_HTTP_SERVICE_UNAVAILABLE, http_error_body("err.service.unavailable", "the gateway is stopping"), "5", NULL);
	if (rq->rt == NULL)
		return refuse(rq, MHD_HTTP_NOT_FOUND, http_error_body("err.request.not_found", "no such route"), NULL, NULL);
	if (strcmp(method, "POST") != 0)
		return refuse(rq, MHD_HTTP_METHOD_NOT_ALLOWED, http_error_body("err.request.bad", "only POST is supported"), NULL, NULL);
	remote_addr(c, addr, sizeof(addr));
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!sp_http_bearer(auth, &tok, &toklen))
		return refuse(rq, MHD_HTTP_UNAUTHORIZED,
					  http_error_body("err.request.unauthorized", "an Authorization: Bearer <token> header is required"), NULL, NULL);
	/* guessing tokens costs the guesser: 10 failures a second per address */
	if (failures_exhausted(addr))
		return refuse(rq, MHD_HTTP_TOO_MANY_REQUESTS,
					  http_error_body("err.request.too_many_requests", "too many failed authentications from this address; retry later"), "1", NULL);
	switch (authenticate(tok, toklen, cl))
	{
		case AUTH_OK:
			break;
		case AUTH_UNKNOWN:
			failure_noted(addr);
			return refuse(rq, MHD_HTTP_FORBIDDEN, http_error_body("err.request.forbidden", "the token is not that of an active API client"), NULL, NULL);
		case AUTH_ERROR:
			return refuse(rq, MHD_HTTP_SERVICE_UNAVAILABLE, http_error_body("err.service.unavailable", "the registry is not reachable; try again"), "5", NULL);
	}
	rq->authenticated = true;
	if (!rate_allows(cl->sender_id, &retry))
	{
		static const char *const seconds[] = {"1", "2", "3", "4", "5", "10", "30", "60"};
		int			k = retry < 1 ? 0 : retry < 2 ? 1 : retry < 3 ? 2 : retry < 4 ? 3 : retry < 5 ? 4 : retry < 10 ? 5 : retry < 30 ? 6 : 7;

		return refuse(rq, MHD_HTTP_TOO_MANY_REQUESTS,
					  http_error_body("err.request.too_many_requests", "over this client's rate; retry later"), seconds[k], cl->sender_id);
	}
	clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen != NULL && strtoull(clen, NULL, 10) > cfg.max_body)
	{
		char		msg[96];

		snprintf(msg, sizeof(msg), "the body is over %zu bytes", cfg.max_body);
		return refuse(rq, MHD_HTTP_CONTENT_TOO_LARGE, http_error_body("err.request.bad", msg), NULL, cl->sender_id);
	}
	ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0)
		return refuse(rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, http_error_body("err.request.bad", "the body is application/json"), NULL, cl->sender_id);
}

static enum MHD_Result
send_refusal(struct MHD_Connection *c, const char *method, const char *url, request *rq)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char	   *body = rq->early_body;

	rq->early_body = NULL;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL)
	{
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (rq->early_retry)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, rq->early_retry);
	if (rq->early_status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	if (rq->early_status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"sp_registry\"");
	ret = MHD_queue_response(c, rq->early_status, r);
	MHD_destroy_response(r);
	access_line(c, method, url, rq->early_status, rq->t0, rq->early_sender, NULL);
	return ret;
}

/* The whole request is in: answer it (the client is authenticated). */
static enum MHD_Result
respond(struct MHD_Connection *c, const char *url, const char *method, request *rq, client *clp)
{
	const route *rt = rq->rt;
	client		cl = *clp;		/* (owned by the request; freed when it completes) */
	unsigned int status;
	char	   *body;
	char		corr[37];
	enum MHD_Result ret;

	if (rq->too_large)
	{
		char		msg[96];

		snprintf(msg, sizeof(msg), "the body is over %zu bytes", cfg.max_body);
		status = MHD_HTTP_CONTENT_TOO_LARGE;
		ret = send_json(c, status, http_error_body("err.request.bad", msg), NULL);
		access_line(c, method, url, status, rq->t0, cl.sender_id, NULL);
		return ret;
	}
	if (rq->len == 0 || memchr(rq->buf, '\0', rq->len) != NULL)
	{
		status = MHD_HTTP_BAD_REQUEST;
		ret = send_json(c, status, http_error_body("err.request.bad", "the body is empty or holds a NUL byte"), NULL);
		access_line(c, method, url, status, rq->t0, cl.sender_id, NULL);
		return ret;
	}

	if (!rt->async)
	{
		int			slot;
		PGconn	   *conn = pool_get(&slot, 3000);
		char		sqlstate[6];
		char	   *err = NULL;
		char	   *answer;

		if (conn == NULL)
		{
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			ret = send_json(c, status, http_error_body("err.service.unavailable", "every database connection is busy; try again"), "1");
			access_line(c, method, url, status, rq->t0, cl.sender_id, NULL);
			return ret;
		}
		answer = call_as(conn, cl.role, rt->fn, rq->buf, rq->len, NULL, sqlstate, &err);
		pool_put(slot);
		if (answer)
		{
			status = MHD_HTTP_OK;
			ret = send_json(c, status, answer, NULL);
		}
		else if (strcmp(sqlstate, "22P02") == 0 || strcmp(sqlstate, "22021") == 0 || strcmp(sqlstate, "54001") == 0)
		{
			status = MHD_HTTP_BAD_REQUEST;
			ret = send_json(c, status, http_error_body("err.request.bad", "the body is not a JSON document"), NULL);
		}
		else if (strcmp(sqlstate, "57014") == 0)
		{
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			ret = send_json(c, status, http_error_body("err.request.timeout", "the request took too long"), NULL);
		}
		else
		{
			char	   *e = json_str(err ? err : "");
			char	   *sj = json_str(cl.sender_id);

			log_line("\"event\":\"error\",\"sender_id\":%s,\"sqlstate\":\"%s\",\"message\":%s", sj, sqlstate, e);
			free(e);
			free(sj);
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			ret = send_json(c, status, http_error_body("err.service.unavailable", "the registry could not answer; the gateway's log has the reason"), NULL);
		}
		free(err);
		access_line(c, method, url, status, rq->t0, cl.sender_id, NULL);
		return ret;
	}

	/* asynchronous: read the callback, ACK at once, answer later */
	new_uuid(corr);
	{
		int			slot;
		PGconn	   *conn = pool_get(&slot, 3000);
		PGresult   *res;
		const char *params[1];
		int			lengths[1];
		int			formats[1] = {0};
		char	   *callback = NULL;
		bool		is_object = false;

		if (conn == NULL)
		{
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
			ret = send_json(c, status, http_error_body("err.service.unavailable", "every database connection is busy; try again"), "1");
			access_line(c, method, url, status, rq->t0, cl.sender_id, NULL);
			return ret;
		}
		params[0] = rq->buf;
		lengths[0] = (int) rq->len;
		res = PQexecParams(conn, "SELECT jsonb_typeof(j) = 'object', j #>> '{header,sender_uri}' FROM (SELECT $1::jsonb j) x",
						   1, NULL, params, lengths, formats, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		{
			is_object = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
			if (!PQgetisnull(res, 0, 1))
				callback = xstrdup(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
		if (PQtransactionStatus(conn) != PQTRANS_IDLE)
			PQclear(PQexec(conn, "ROLLBACK"));
		pool_put(slot);
		status = MHD_HTTP_OK;
		if (!is_object)
			body = ack_body("ERR", corr, "err.request.bad", "the body is not a JSON object");
		else if (callback == NULL && rt->needs_callback)
			body = ack_body("ERR", corr, "err.sender_uri.invalid", "an asynchronous request needs header.sender_uri, where its answer goes");
		else if (callback != NULL && !sp_http_callback_allowed(callback, (const char *const *) cl.prefixes, (size_t) cl.nprefixes))
			body = ack_body("ERR", corr, "err.sender_uri.invalid", "header.sender_uri is not under a callback prefix registered for this client");
		else if (!client_queue_take(cl.sender_id, rq->len))
		{
			status = MHD_HTTP_TOO_MANY_REQUESTS;
			body = http_error_body("err.request.too_many_requests", "this client has too many requests waiting; retry later");
		}
		else
		{
			job		   *j = xmalloc(sizeof(job));

			j->rt = rt;
			client_copy(&j->c, &cl);
			j->body = xmalloc(rq->len + 1);
			memcpy(j->body, rq->buf, rq->len);
			j->body[rq->len] = '\0';
			j->body_len = rq->len;
			j->callback = callback;
			callback = NULL;
			snprintf(j->correlation_id, sizeof(j->correlation_id), "%s", corr);
			if (queue_push(j))
				body = ack_body("ACK", corr, NULL, NULL);
			else
			{
				client_queue_release(cl.sender_id, rq->len);
				job_free(j);
				status = MHD_HTTP_SERVICE_UNAVAILABLE;
				body = http_error_body("err.service.unavailable", "too many requests waiting; try again");
			}
		}
		free(callback);
	}
	ret = send_json(c, status, body, status == MHD_HTTP_OK ? NULL : "1");
	access_line(c, method, url, status, rq->t0, cl.sender_id, corr);
	return ret;
}

/* The per-request state: the request and its client, freed when it completes. */
typedef struct request_state
{
	request		rq;
	client		cl;
} request_state;

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
		const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	request_state *st = *con_cls;
	request    *rq;

	(void) cls;
	(void) version;
	if (st == NULL)
	{
		st = calloc(1, sizeof(request_state));
		if (st == NULL)
			return MHD_NO;
		st->rq.t0 = mono_now();
		__atomic_add_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);
		*con_cls = st;
		precheck(c, url, method, &st->rq, &st->cl);
		/* refused: answer before reading the body (MHD closes the connection after it) */
		if (st->rq.early_status != 0)
			return send_refusal(c, method, url, &st->rq);
		return MHD_YES;
	}
	rq = &st->rq;
	if (rq->early_status != 0)
	{
		/* (already answered: the rest of the body is dropped, never kept) */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		if (!rq->too_large && rq->len + n > cfg.max_body)
		{
			rq->too_large = true;
			free(rq->buf);
			rq->buf = NULL;
			rq->len = rq->cap = 0;
		}
		if (!rq->too_large)
		{
			if (rq->len + n + 1 > rq->cap)
			{
				size_t		cap = rq->cap ? rq->cap : 4096;
				char	   *nb;

				while (cap < rq->len + n + 1)
					cap *= 2;
				if (cap > cfg.max_body + 1)
					cap = cfg.max_body + 1;
				nb = realloc(rq->buf, cap);
				if (nb == NULL)
					return MHD_NO;
				rq->buf = nb;
				rq->cap = cap;
			}
			memcpy(rq->buf + rq->len, upload_data, n);
			rq->len += n;
			rq->buf[rq->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return respond(c, url, method, rq, &st->cl);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	request_state *st = *con_cls;

	(void) cls;
	(void) c;
	(void) toe;
	if (st)
	{
		free(st->rq.buf);
		free(st->rq.early_body);
		free(st->rq.early_sender);
		if (st->rq.authenticated)
			client_free(&st->cl);
		free(st);
		*con_cls = NULL;
		__atomic_sub_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);
	}
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                           */

static void
usage(FILE *out)
{
	fprintf(out,
			"sp_registry_gateway %s - the DCI social-registry API of sp_registry over HTTP\n"
			"\n"
			"Usage: sp_registry_gateway [OPTION]...\n"
			"\n"
			"Connects to PostgreSQL with the standard PG* variables (PGHOST, PGPORT, PGDATABASE,\n"
			"PGUSER, PGPASSWORD or ~/.pgpass, PGSSLMODE). The login must be a member of sp_gateway\n"
			"and not a superuser. Stops cleanly on SIGTERM or SIGINT.\n"
			"\n"
			"Options:\n"
			"  --listen ADDR:PORT        where to listen (default 127.0.0.1:8080; :PORT for every interface)\n"
			"  --pool N                  database connections for requests (default 8)\n"
			"  --workers N               threads answering asynchronous requests (default 2)\n"
			"  --max-body BYTES          largest request body (default 1048576)\n"
			"  --rate N                  requests per second per client, 0 for no limit (default 50)\n"
			"  --burst N                 requests a client may send at once above the rate (default 100)\n"
			"  --auth-cache SECONDS      how long a token is trusted before it is checked again (default 5)\n"
			"  --statement-timeout MS    longest a request may run in the database (default 10000)\n"
			"  --callback-timeout MS     longest a callback POST may take (default 10000)\n"
			"  --notify-interval MS      how often subscribers are looked at without an outbox signal (default 5000)\n"
			"  --no-notify               do not send notifications\n"
			"  --max-connections N       HTTP connections at once (default 256)\n"
			"  --queue N                 asynchronous requests waiting at most (default 1000)\n"
			"  --queue-per-client N      of which one client's at most (default 100)\n"
			"  --max-connections-per-ip N  HTTP connections from one address at once (default 32)\n"
			"  --idle-timeout SECONDS    a connection idle that long is closed (default 15)\n"
			"  --deny-private-callbacks  callbacks to a host name may not reach private networks either\n"
			"                            (loopback and link-local are always refused; address literals in\n"
			"                            registered prefixes are allowed as registered)\n"
			"  --access-log FILE         one JSON line per request and callback (default - : standard error)\n"
			"  --tls-cert FILE, --tls-key FILE  serve HTTPS with this certificate (chain) and private key (PEM)\n"
			"  --help, --version\n"
			"\n"
			"Exit status: 0 stopped on a signal, 1 bad options, 2 could not start.\n", GATEWAY_VERSION);
}

static bool
parse_int(const char *s, long lo, long hi, long *out)
{
	char	   *end;
	long		v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int
parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
		long		n;

#define INT_OPT(name, lo, hi, field) \
		if (strcmp(a, name) == 0) { \
			if (!parse_int(v, lo, hi, &n)) { fprintf(stderr, "sp_registry_gateway: %s takes a number from %ld to %ld\n", name, (long) (lo), (long) (hi)); return 1; } \
			field = n; i++; continue; }

		if (strcmp(a, "--help") == 0)
		{
			usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--version") == 0)
		{
			printf("sp_registry_gateway %s\n", GATEWAY_VERSION);
			exit(0);
		}
		if (strcmp(a, "--listen") == 0)
		{
			if (v == NULL || !sp_http_parse_listen(v, cfg.host, sizeof(cfg.host), &cfg.port))
			{
				fprintf(stderr, "sp_registry_gateway: --listen takes ADDR:PORT, [IPv6]:PORT or :PORT\n");
				return 1;
			}
			i++;
			continue;
		}
		if (strcmp(a, "--access-log") == 0)
		{
			if (v == NULL)
			{
				fprintf(stderr, "sp_registry_gateway: --access-log takes a file name (- for standard error)\n");
				return 1;
			}
			cfg.access_log = v;
			i++;
			continue;
		}
		if (strcmp(a, "--no-notify") == 0)
		{
			cfg.notify = false;
			continue;
		}
		if ((strcmp(a, "--tls-cert") == 0 || strcmp(a, "--tls-key") == 0))
		{
			if (v == NULL)
			{
				fprintf(stderr, "sp_registry_gateway: %s takes a PEM file\n", a);
				return 1;
			}
			if (a[6] == 'c')
				cfg.tls_cert = v;
			else
				cfg.tls_key = v;
			i++;
			continue;
		}
		if (strcmp(a, "--deny-private-callbacks") == 0)
		{
			cfg.deny_private_callbacks = true;
			continue;
		}
		INT_OPT("--pool", 1, 1000, cfg.pool_size);
		INT_OPT("--workers", 1, 100, cfg.workers);
		INT_OPT("--max-body", 1024, 1073741824L, cfg.max_body);
		INT_OPT("--rate", 0, 1000000, cfg.rate);
		INT_OPT("--burst", 1, 1000000, cfg.burst);
		INT_OPT("--auth-cache", 0, 3600, cfg.auth_cache_s);
		INT_OPT("--statement-timeout", 100, 3600000, cfg.statement_timeout_ms);
		INT_OPT("--callback-timeout", 100, 600000, cfg.callback_timeout_ms);
		INT_OPT("--notify-interval", 100, 3600000, cfg.notify_interval_ms);
		INT_OPT("--max-connections", 1, 100000, cfg.max_connections);
		INT_OPT("--queue", 1, 1000000, cfg.queue_max);
		INT_OPT("--queue-per-client", 1, 1000000, cfg.queue_per_client);
		INT_OPT("--max-connections-per-ip", 1, 100000, cfg.max_per_ip);
		INT_OPT("--idle-timeout", 1, 3600, cfg.idle_timeout_s);
#undef INT_OPT
		fprintf(stderr, "sp_registry_gateway: unknown option \"%s\" (see --help)\n", a);
		return 1;
	}
	return 0;
}

/* The login may act as clients and is not a superuser; the extension is there. */
static bool
check_database(void)
{
	PGconn	   *conn = db_connect();
	PGresult   *res;
	bool		ok = false;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "sp_registry_gateway: cannot connect to the database: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return false;
	}
	res = PQexec(conn, "SELECT r.rolsuper, EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'sp_gateway') "
				 "AND pg_has_role(current_user, 'sp_gateway', 'MEMBER'), current_user, "
				 "EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = 'sp_registry') "
				 "FROM pg_roles r WHERE r.rolname = current_user");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fprintf(stderr, "sp_registry_gateway: cannot check the login's roles: %s", PQerrorMessage(conn));
	else if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		fprintf(stderr, "sp_registry_gateway: refusing to run as superuser \"%s\": a superuser bypasses the clients' row-level security.\n"
				"Create a login of its own: CREATE ROLE registry_gateway LOGIN PASSWORD '...' IN ROLE sp_gateway;\n",
				PQgetvalue(res, 0, 2));
	else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
		fprintf(stderr, "sp_registry_gateway: login \"%s\" is not a member of sp_gateway: GRANT sp_gateway TO \"%s\";\n",
				PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 2));
	else if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		fprintf(stderr, "sp_registry_gateway: the sp_registry extension is not installed in database \"%s\"\n", PQdb(conn));
	else
		ok = true;
	PQclear(res);
	PQfinish(conn);
	return ok;
}

/* libmicrohttpd's own messages (TLS handshakes gone wrong, sockets) into the access log */
static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char		msg[512];
	size_t		n;

	(void) cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_event("http", NULL, "error", msg);
}

/* a PEM file in memory (it must outlive the daemon), or NULL with a message */
static char *
read_pem(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	char	   *data;
	size_t		n;

	if (f == NULL)
	{
		fprintf(stderr, "sp_registry_gateway: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	data = xmalloc(1048577);
	n = fread(data, 1, 1048576, f);
	fclose(f);
	if (n == 0 || n == 1048576)
	{
		fprintf(stderr, "sp_registry_gateway: %s is empty or over 1 MiB\n", path);
		free(data);
		return NULL;
	}
	data[n] = '\0';
	return data;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	char	   *tls_cert_pem = NULL;
	char	   *tls_key_pem = NULL;
	sigset_t	sigs;
	int			sig = 0;
	pthread_t  *workers;
	pthread_t	notifier;
	struct sockaddr_storage ss;
	socklen_t	sslen;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	double		t;

	if (parse_args(argc, argv) != 0)
		return 1;
	if (strcmp(cfg.access_log, "-") == 0)
		access_log = stderr;
	else if ((access_log = fopen(cfg.access_log, "a")) == NULL)
	{
		fprintf(stderr, "sp_registry_gateway: cannot open %s: %s\n", cfg.access_log, strerror(errno));
		return 2;
	}

	memset(&ss, 0, sizeof(ss));
	if (cfg.host[0] == '\0')
	{
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		in->sin_port = htons((uint16_t) cfg.port);
		sslen = sizeof(*in);
	}
	else if (strchr(cfg.host, ':'))
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t) cfg.port);
		if (inet_pton(AF_INET6, cfg.host, &in6->sin6_addr) != 1)
		{
			fprintf(stderr, "sp_registry_gateway: --listen: \"%s\" is not an IPv6 address\n", cfg.host);
			return 1;
		}
		sslen = sizeof(*in6);
		flags |= MHD_USE_IPv6;
	}
	else
	{
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t) cfg.port);
		if (inet_pton(AF_INET, strcmp(cfg.host, "localhost") == 0 ? "127.0.0.1" : cfg.host, &in->sin_addr) != 1)
		{
			fprintf(stderr, "sp_registry_gateway: --listen: \"%s\" is not an IPv4 address (give the address, not a name)\n", cfg.host);
			return 1;
		}
		sslen = sizeof(*in);
	}
	(void) sslen;

	if ((cfg.tls_cert == NULL) != (cfg.tls_key == NULL))
	{
		fprintf(stderr, "sp_registry_gateway: HTTPS needs both --tls-cert and --tls-key\n");
		return 1;
	}
	if (cfg.tls_cert)
	{
		tls_cert_pem = read_pem(cfg.tls_cert);
		tls_key_pem = read_pem(cfg.tls_key);
		if (tls_cert_pem == NULL || tls_key_pem == NULL)
			return 2;
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		{
			fprintf(stderr, "sp_registry_gateway: this libmicrohttpd was built without TLS\n");
			return 2;
		}
		flags |= MHD_USE_TLS;
	}
	if (!check_database())
		return 2;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		fprintf(stderr, "sp_registry_gateway: libcurl did not start\n");
		return 2;
	}
	pool_init(cfg.pool_size);
	queue.items = xmalloc(sizeof(job *) * (size_t) cfg.queue_max);

	/* signals go to the main thread only: block them before any thread starts */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* (the logger first: libmicrohttpd reports on the options after it to it) */
	d = MHD_start_daemon(flags, (uint16_t) cfg.port, NULL, NULL, handler, NULL,
						 MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
						 MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
						 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) cfg.max_connections,
						 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) cfg.max_per_ip,
						 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) cfg.idle_timeout_s,
						 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
						 /* (ignored without MHD_USE_TLS; NULL ends the list early otherwise) */
						 tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls_cert_pem,
						 MHD_OPTION_HTTPS_MEM_KEY, tls_key_pem,
						 MHD_OPTION_END);
	if (d == NULL)
	{
		fprintf(stderr, "sp_registry_gateway: cannot listen on %s:%d\n", cfg.host[0] ? cfg.host : "*", cfg.port);
		return 2;
	}
	workers = xmalloc(sizeof(pthread_t) * (size_t) cfg.workers);
	for (int i = 0; i < cfg.workers; i++)
		pthread_create(&workers[i], NULL, worker_main, NULL);
	if (cfg.notify)
		pthread_create(&notifier, NULL, notifier_main, NULL);
	log_line("\"event\":\"start\",\"listen\":\"%s:%d\",\"tls\":%s,\"pool\":%d,\"workers\":%d,\"version\":\"%s\"",
			 cfg.host[0] ? cfg.host : "*", cfg.port, cfg.tls_cert ? "true" : "false", cfg.pool_size, cfg.workers, GATEWAY_VERSION);

	do
	{
		if (sigwait(&sigs, &sig) != 0)
			sig = SIGTERM;
	} while (sig == SIGHUP);

	/* stop: no new connections; requests under way finish; queued answers are sent */
	stopping = 1;
	log_line("\"event\":\"stopping\",\"signal\":%d,\"active_requests\":%d", sig, active_requests);
	MHD_quiesce_daemon(d);
	t = mono_now();
	while (__atomic_load_n(&active_requests, __ATOMIC_SEQ_CST) > 0 && mono_now() - t < 30)
		usleep(20000);
	MHD_stop_daemon(d);
	pthread_mutex_lock(&queue.mu);
	queue.closed = true;
	pthread_cond_broadcast(&queue.cv);
	pthread_mutex_unlock(&queue.mu);
	for (int i = 0; i < cfg.workers; i++)
		pthread_join(workers[i], NULL);
	if (cfg.notify)
		pthread_join(notifier, NULL);
	free(workers);
	free(queue.items);
	pool_close();
	for (int i = 0; i < AUTH_CACHE_SIZE; i++)
		if (auth_cache[i].used)
			client_free(&auth_cache[i].c);
	curl_global_cleanup();
	free(tls_cert_pem);
	free(tls_key_pem);
	log_line("\"event\":\"stopped\"");
	if (access_log != stderr)
		fclose(access_log);
	return 0;
}
