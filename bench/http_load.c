/*
 * http_load - a load generator for the DCI gateway's /registry/sync/search
 * (bench/bench_dci.sh).  N client threads, each with its own keep-alive
 * connection, POST searches for a fixed time: each request a new message_id,
 * an identifier drawn from a file (one per line), its own timestamp.
 * Prints requests, requests per second, latency percentiles and how many
 * answers were not a 200 with a successful item.
 *
 *   http_load URL TOKEN SENDER IDS_FILE ID_TYPE CLIENTS SECONDS
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct
{
	int			no;
	double	   *lat;
	size_t		n;
	size_t		cap;
	long		bad;
	long		errors;
} worker;

static const char *url, *token, *sender, *id_type;
static char **ids;
static size_t nids;
static double stop_at;
static long nonce;			/* per run: message ids never repeat across runs */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct
{
	char	   *p;
	size_t		n;
} buf;

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
	buf		   *b = ud;
	size_t		k = size * nmemb;
	char	   *np = realloc(b->p, b->n + k + 1);

	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, k);
	b->n += k;
	b->p[b->n] = '\0';
	return k;
}

static void *
run(void *arg)
{
	worker	   *w = arg;
	CURL	   *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char		auth[700];
	char		body[2048];
	unsigned int seed = 12345u + (unsigned) w->no * 7919u;
	long		seq = 0;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	while (now() < stop_at)
	{
		time_t		t = time(NULL);
		struct tm	tm;
		char		ts[32];
		buf			b = {0};
		long		code = 0;
		double		t0;
		const char *id = ids[rand_r(&seed) % nids];

		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(body, sizeof(body),
				 "{\"header\":{\"version\":\"1.0.0\",\"message_id\":\"load-%ld-%d-%ld-%ld\",\"message_ts\":\"%s\",\"action\":\"search\","
				 "\"sender_id\":\"%s\",\"total_count\":1},\"message\":{\"transaction_id\":\"t-%d-%ld\",\"search_request\":["
				 "{\"reference_id\":\"r1\",\"timestamp\":\"%s\",\"search_criteria\":{\"query_type\":\"idtype-value\",\"response_entity\":\"Group\","
				 "\"query\":{\"type\":\"%s\",\"value\":\"%s\"},\"authorize\":{\"purpose\":{\"text\":\"load test\"}}}}]}}",
				 nonce, w->no, (long) t, seq, ts, sender, w->no, seq, ts, id_type, id);
		seq++;
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		t0 = now();
		if (curl_easy_perform(c) != CURLE_OK)
			w->errors++;
		else
		{
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			if (code != 200 || b.p == NULL || strstr(b.p, "\"status\": \"succ\"") == NULL || strstr(b.p, "\"rjct\"") != NULL)
				w->bad++;
		}
		if (w->n == w->cap)
		{
			w->cap = w->cap ? w->cap * 2 : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof(double));
			if (w->lat == NULL)
				abort();
		}
		w->lat[w->n++] = (now() - t0) * 1000;
		free(b.p);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	char		line[256];
	int			clients;
	double		secs;
	worker	   *ws;
	pthread_t  *th;
	double	   *all;
	size_t		total = 0,
				k = 0;
	long		bad = 0,
				errors = 0;
	double		t0;

	if (argc != 8)
	{
		fprintf(stderr, "usage: http_load URL TOKEN SENDER IDS_FILE ID_TYPE CLIENTS SECONDS\n");
		return 1;
	}
	url = argv[1];
	token = argv[2];
	sender = argv[3];
	id_type = argv[5];
	clients = atoi(argv[6]);
	secs = atof(argv[7]);
	if ((f = fopen(argv[4], "r")) == NULL)
	{
		perror(argv[4]);
		return 1;
	}
	while (fgets(line, sizeof(line), f))
	{
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		ids = realloc(ids, (nids + 1) * sizeof(char *));
		ids[nids++] = strdup(line);
	}
	fclose(f);
	if (nids == 0 || clients < 1)
		return 1;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		nonce = (long) ts.tv_nsec ^ ((long) getpid() << 20);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ws = calloc((size_t) clients, sizeof(worker));
	th = calloc((size_t) clients, sizeof(pthread_t));
	t0 = now();
	stop_at = t0 + secs;
	for (int i = 0; i < clients; i++)
	{
		ws[i].no = i;
		pthread_create(&th[i], NULL, run, &ws[i]);
	}
	for (int i = 0; i < clients; i++)
	{
		pthread_join(th[i], NULL);
		total += ws[i].n;
		bad += ws[i].bad;
		errors += ws[i].errors;
	}
	secs = now() - t0;
	all = malloc((total ? total : 1) * sizeof(double));
	for (int i = 0; i < clients; i++)
		for (size_t j = 0; j < ws[i].n; j++)
			all[k++] = ws[i].lat[j];
	qsort(all, total, sizeof(double), cmp);
#define PCT(p) (total ? all[(size_t) ((p) * (total - 1))] : 0)
	printf("requests=%zu seconds=%.1f rps=%.0f p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f not_succ=%ld errors=%ld\n",
		   total, secs, total / secs, PCT(0.50), PCT(0.95), PCT(0.99), total ? all[total - 1] : 0, bad, errors);
	return 0;
}
