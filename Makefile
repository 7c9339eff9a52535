# sp_registry - PGXS build.
#
#   make            build the module and the versioned install script
#   make test       deps + build + install + every test suite in a throwaway cluster
#   make demo       deps + build + install + synthetic country in a throwaway cluster
#   make bench      benchmarks; figures go to bench/RESULTS.md

EXTENSION   = sp_registry
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)
PG_CONFIG  ?= pg_config

MODULE_big  = sp_registry
CORE_SRCS   = $(sort $(wildcard src/core/*.c))
PG_SRCS     = $(sort $(wildcard src/pg/*.c))
OBJS        = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

# The install script is the concatenation of sql/NN_*.sql in file-name order;
# upgrade scripts sp_registry--A--B.sql live in sql/updates/.
SQL_SOURCES = $(sort $(wildcard sql/[0-9][0-9]_*.sql))
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        = $(wildcard sql/updates/$(EXTENSION)--*--*.sql)

ICU_CFLAGS := $(shell pkg-config --cflags icu-uc icu-i18n 2>/dev/null)
ICU_LIBS   := $(shell pkg-config --libs icu-uc icu-i18n 2>/dev/null)

PG_CPPFLAGS = -Isrc/core -Isrc/pg $(ICU_CFLAGS)
# -Wno-unused-parameter: static inline functions in the PG15 server headers
# have unused parameters; everything else of -Wextra stays an error.
PG_CFLAGS   = -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK  = $(ICU_LIBS)

REGRESS      = $(basename $(notdir $(sort $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=. --encoding=UTF8

EXTRA_CLEAN = $(DATA_built) test/unit/*.bin results regression.diffs regression.out

# The DCI HTTP gateway (built below): PGXS installs it beside the PostgreSQL
# programs.  (Set before PGXS is included: its rules read these.)
GATEWAY       = src/gateway/sp_registry_gateway
CLI           = src/cli/sp_registry
SCRIPTS_built = $(GATEWAY) $(CLI)

# On a fresh machine the server headers (and PGXS) arrive with `make deps`;
# until then only the set-up targets below work.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
all install installcheck:
	@echo "PostgreSQL server development files not found (PG_CONFIG=$(PG_CONFIG)): run 'make deps' first" >&2; exit 1
endif

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES) $(EXTENSION).control
	@{ printf '%s\n' "-- sp_registry $(EXTVERSION): generated from sql/*.sql by the Makefile; do not edit."; \
	   printf '%s\n' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; \
	   for f in $(SQL_SOURCES); do echo; echo "-- ===== $$f ====="; cat $$f; done; } > $@

# ---------------------------------------------------------------------------
# C unit tests of src/core (no server): TAP via prove.
UNIT_SRCS = $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:.c=.bin)
UNIT_CFLAGS = -std=c11 -pedantic -O1 -g -Wall -Wextra -Werror -Isrc/core -Itest/unit

test/unit/%.bin: test/unit/%.c $(wildcard test/unit/*.h) $(CORE_SRCS) $(wildcard src/core/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(ICU_LIBS) -lm

# The registry-shaped test data generator (tools/README.md): a plain C program,
# used by the linkage tests and benchmarks; built with the module, not installed.
all: tools/registry_gen
tools/registry_gen: tools/registry_gen.c
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -pedantic -o $@ $< -lm
EXTRA_CLEAN += tools/registry_gen

# The DCI HTTP gateway (docs/interoperability.md): a program on libpq,
# libmicrohttpd and libcurl, installed beside the PostgreSQL programs
# ($(pg_config --bindir)) with a link in /usr/local/bin.
GATEWAY_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror -Isrc/core -I$(shell $(PG_CONFIG) --includedir 2>/dev/null) \
                 $(shell pkg-config --cflags libmicrohttpd libcurl 2>/dev/null)
GATEWAY_LIBS = -L$(shell $(PG_CONFIG) --libdir 2>/dev/null) -lpq $(shell pkg-config --libs libmicrohttpd libcurl 2>/dev/null) -lpthread
$(GATEWAY): src/gateway/sp_registry_gateway.c src/core/sp_http.c src/core/sp_http.h
	$(CC) $(GATEWAY_CFLAGS) -o $@ src/gateway/sp_registry_gateway.c src/core/sp_http.c $(GATEWAY_LIBS)
EXTRA_CLEAN += $(GATEWAY)
# The command-line tool (docs/dba-guide.md): libpq and the pure helpers of src/core.
$(CLI): src/cli/sp_registry.c src/core/sp_csv.c src/core/sp_csv.h src/core/sp_json.c src/core/sp_json.h src/core/sp_http.c src/core/sp_http.h
	$(CC) $(GATEWAY_CFLAGS) -o $@ src/cli/sp_registry.c src/core/sp_csv.c src/core/sp_json.c src/core/sp_http.c -L$(shell $(PG_CONFIG) --libdir 2>/dev/null) -lpq
EXTRA_CLEAN += $(CLI)
install: install-links
.PHONY: install-links
install-links: installdirs
	@if [ -z "$(DESTDIR)" ] && [ -w /usr/local/bin ]; then \
	  ln -sf '$(bindir)/sp_registry_gateway' /usr/local/bin/sp_registry_gateway; \
	  ln -sf '$(bindir)/sp_registry' /usr/local/bin/sp_registry; fi

.PHONY: deps unit-test test test-future demo bench regress-test pgtap-test role-matrix

deps:
	@scripts/deps.sh

unit-test: $(UNIT_BINS)
	prove --exec '' $(UNIT_BINS)

# Everything from a fresh machine: packages, build, install, then all suites.
test: deps
	$(MAKE) all
	$(MAKE) install
	$(MAKE) unit-test
	scripts/virtualenv.sh -o 'shared_buffers=256MB' scripts/run-tests.sh

# The server suites with the server's clock five years ahead (libfaketime in the
# cluster's environment): tests must pass on any day, not only the day they were written.
FAKETIME_OFFSET ?= +1826d
test-future: deps
	@dpkg-query -W -f='$${Status}' faketime 2>/dev/null | grep -q 'install ok installed' || \
	  { echo "test-future: installing faketime"; apt-get install -y -qq faketime >/dev/null; }
	$(MAKE) all
	$(MAKE) install
	@env_file=$$(mktemp /tmp/sp_faketime.XXXXXX); \
	  printf "LD_PRELOAD='%s'\nFAKETIME='%s'\n" "$$(dpkg -L libfaketime | grep 'libfaketime.so.1$$' | head -1)" "$(FAKETIME_OFFSET)" > $$env_file; \
	  scripts/virtualenv.sh -c "--environment=$$env_file" -o 'shared_buffers=256MB' scripts/run-tests-future.sh; \
	  rc=$$?; rm -f $$env_file; exit $$rc

demo: deps
	$(MAKE) all
	$(MAKE) install
	scripts/virtualenv.sh -o 'shared_buffers=512MB' -o 'max_wal_size=4GB' \
	  -o 'shared_preload_libraries=pg_cron' -o 'cron.database_name=postgres' scripts/demo.sh

# BENCH_ONLY=<name> runs bench/bench_<name>.sh alone (other sections keep their last figures)
bench: deps
	$(MAKE) all
	$(MAKE) install
	scripts/virtualenv.sh -o 'shared_buffers=1GB' -o 'max_wal_size=8GB' -o 'synchronous_commit=off' bench/run.sh

# Rewrites the role matrix in docs/security.md from the grants of a fresh install.
role-matrix: deps
	$(MAKE) all
	$(MAKE) install
	scripts/virtualenv.sh sh -c 'createdb -E UTF8 -T template0 sp_role_matrix && psql -Xq -d sp_role_matrix -c "SET client_min_messages = warning" -c "CREATE EXTENSION sp_registry CASCADE" && scripts/role-matrix.sh write sp_role_matrix'
