#!/usr/bin/env bash
# Transparency harness: PostgreSQL's regression SQL, straight into one cluster and through Warden into an
# identical second one; prints a verdict per file and a total. See bench/README.md, "Transparency harness".
#
#   bench/transparency.sh [--masking exempt|defaults|off] [--only test1,test2] [--out DIR]
#
# It needs the PostgreSQL 15 server binaries and psql (Debian postgresql-15) and, to build regress.so,
# postgresql-server-dev-15 and gcc. The regression sources are fetched into a scratch directory, never into
# this repository: set WARDEN_REGRESS_DIR to use a src/test/regress you already have.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_VERSION="${WARDEN_REGRESS_PG_VERSION:-15.18}"
SCRATCH="${WARDEN_REGRESS_SCRATCH:-${TMPDIR:-/tmp}/warden-regress-src}"
BIN="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
SERVER_VERSION="$(pg_config --version 2>/dev/null | awk '{print $2}')"
if [[ -n "$SERVER_VERSION" && "$SERVER_VERSION" != "$PG_VERSION" ]]; then
  # The harness compares two paths into the same server version, so a skew does not change its verdicts; it
  # only makes more direct runs differ from PostgreSQL's expected files (the harness's self-check).
  echo "note: the regression sources are $PG_VERSION, the installed server is $SERVER_VERSION" >&2
fi

if [[ -z "${WARDEN_REGRESS_DIR:-}" ]]; then
  WARDEN_REGRESS_DIR="$SCRATCH/postgresql-$PG_VERSION/src/test/regress"
  if [[ ! -f "$WARDEN_REGRESS_DIR/parallel_schedule" ]]; then
    mkdir -p "$SCRATCH"
    tarball="$SCRATCH/postgresql-15_$PG_VERSION.orig.tar.bz2"
    echo "fetching PostgreSQL $PG_VERSION sources into $SCRATCH" >&2
    curl -fsS -o "$tarball" "http://deb.debian.org/debian/pool/main/p/postgresql-15/postgresql-15_$PG_VERSION.orig.tar.bz2"
    tar -xjf "$tarball" -C "$SCRATCH" "postgresql-$PG_VERSION/src/test/regress"
  fi
fi

LIBDIR="$SCRATCH/lib"
if [[ ! -f "$LIBDIR/regress.so" ]]; then
  mkdir -p "$LIBDIR"
  include="$(pg_config --includedir-server)"
  if [[ ! -f "$include/postgres.h" ]]; then
    echo "transparency: $include/postgres.h is missing: apt-get install postgresql-server-dev-15" >&2
    exit 2
  fi
  gcc -O2 -fPIC -shared -I"$include" -o "$LIBDIR/regress.so" "$WARDEN_REGRESS_DIR/regress.c"
fi
# pg_regress builds contrib/spi's autoinc and refint next to regress.so; the installed ones are the same code.
for lib in autoinc refint; do
  [[ -f "$LIBDIR/$lib.so" ]] || cp "$(pg_config --pkglibdir)/$lib.so" "$LIBDIR/" 2>/dev/null || true
done
chmod -R a+rX "$SCRATCH" 2>/dev/null || true

if [[ ! -f bench/target/warden-bench.jar ]]; then
  mvn -q -o -Dmaven.test.skip=true package -pl bench -am
fi
exec java -cp bench/target/warden-bench.jar dev.warden.bench.TransparencyHarness \
  --regress "$WARDEN_REGRESS_DIR" --libdir "$LIBDIR" --bin "$BIN" "$@"
