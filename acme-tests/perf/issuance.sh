#!/usr/bin/env bash
# Full-flow issuance on SQLite and on PostgreSQL, in one run on this machine: start time, idle and
# loaded RSS, `stica bench issue` throughput and per-phase percentiles at 1 and N workers, and
# (PostgreSQL) SQL statements per issuance. The JSON reports stay in $WORK when WORK is set.
#
#   cargo build --release -p stica --bin stica
#   acme-tests/perf/issuance.sh        # DURATION=20s CONCURRENCY=8 DBS="sqlite postgres"
#
# Environment: STICA (binary), DURATION, CONCURRENCY, DBS, PG (server URL without a database,
# default postgres://postgres@127.0.0.1:5432), PG_LOG (the PostgreSQL server log, for the
# statement count; skipped when unreadable), WORK.
set -euo pipefail

STICA=${STICA:-${CARGO_TARGET_DIR:-target}/release/stica}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-8}
DBS=${DBS:-sqlite postgres}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PG_LOG=${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
KEEP=${WORK:+1}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
[ -x "$STICA" ] || { echo "no stica binary at $STICA (cargo build --release first)" >&2; exit 1; }

pids=()
dbs_made=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for d in "${dbs_made[@]}"; do psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  [ -n "$KEEP" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# Milliseconds from exec to the "stica listening on" line (the server is stopped afterwards).
start_ms() { # data_dir db_url
  python3 - "$STICA" "$1" "$2" <<'EOF'
import os, subprocess, sys, time
stica, data, db = sys.argv[1:4]
t0 = time.monotonic()
p = subprocess.Popen([stica, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--database-url", db],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ, STICA_LOG="warn"))
for line in p.stdout:
    if line.startswith(b"stica listening on "):
        print(round((time.monotonic() - t0) * 1000, 1))
        break
p.terminate(); p.wait()
EOF
}

serve() { # data_dir db_url -> sets BASE and SPID
  : >"$WORK/serve.out"
  STICA_LOG=warn "$STICA" serve --listen 127.0.0.1:0 --data-dir "$1" --database-url "$2" \
    >"$WORK/serve.out" 2>>"$WORK/serve.err" &
  SPID=$!
  pids+=("$SPID")
  local addr=""
  for _ in $(seq 1 400); do
    addr=$(sed -n 's/^stica listening on //p' "$WORK/serve.out" | head -1)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || { echo "stica did not start" >&2; cat "$WORK/serve.err" >&2; exit 1; }
  BASE="http://$addr"
}

stop() { kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; }

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }

db_url() { # kind name
  if [ "$1" = sqlite ]; then
    echo "sqlite://$WORK/$2.db?mode=rwc"
  else
    psql "$PG/postgres" -qc "CREATE DATABASE $2" >/dev/null
    dbs_made+=("$2")
    echo "$PG/$2"
  fi
}

bench() { # name args...
  local name=$1; shift
  "$STICA" bench issue --directory "$BASE/directory" --pa-data-dir "$DATA/pa" --json "$@" >"$WORK/$name.json"
}

summary() { # name
  jq -r '"\(.issuances_per_sec*10|floor/10) /s, \(.errors) errors; p50/p99 ms: total \(.phases.total.p50_ms)/\(.phases.total.p99_ms), finalize \(.phases.finalize.p50_ms)/\(.phases.finalize.p99_ms), challenge \(.phases.challenge.p50_ms)/\(.phases.challenge.p99_ms), account \(.phases.account.p50_ms)/\(.phases.account.p99_ms)"' "$WORK/$1.json"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/Mem:/{print $2}') GB"
for kind in $DBS; do
  DATA="$WORK/data-$kind"
  url=$(db_url "$kind" "stica_perf_$$_$kind")
  first=$(start_ms "$DATA" "$url")
  again=()
  for _ in 1 2 3 4 5; do again+=("$(start_ms "$DATA" "$url")"); done
  median=$(printf '%s\n' "${again[@]}" | sort -n | sed -n 3p)
  nossl=""
  if [ "$kind" = postgres ]; then
    # sqlx's default sslmode=prefer makes every new connection a TLS handshake (about 90 ms
    # here); a PostgreSQL on the same host needs none (docs/operations.md).
    plain=()
    for _ in 1 2 3 4 5; do plain+=("$(start_ms "$DATA" "$url?sslmode=disable")"); done
    nossl=", with ?sslmode=disable $(printf '%s\n' "${plain[@]}" | sort -n | sed -n 3p) ms (${plain[*]})"
  fi
  serve "$DATA" "$url"
  sleep 2
  idle=$(rss_kb "$SPID")
  bench "warmup-$kind" --count 20 --concurrency 2 --duration 60s
  bench "c1-$kind" --concurrency 1 --duration "$DURATION"
  # Sample the server's RSS while the loaded run lasts; keep the peak.
  ( peak=0; while kill -0 "$SPID" 2>/dev/null; do r=$(rss_kb "$SPID"); [ "${r:-0}" -gt "$peak" ] && peak=$r; echo "$peak" >"$WORK/peak-$kind"; sleep 0.5; done ) &
  sampler=$!
  bench "c$CONCURRENCY-$kind" --concurrency "$CONCURRENCY" --duration "$DURATION"
  kill "$sampler" 2>/dev/null || true
  loaded=$(cat "$WORK/peak-$kind")
  stop
  echo
  echo "== $kind =="
  echo "start: first (creates the CA) ${first} ms, restart median of 5 ${median} ms (${again[*]})$nossl"
  echo "RSS: idle ${idle} kB, peak under load ${loaded} kB"
  echo "1 worker:  $(summary "c1-$kind")"
  echo "$CONCURRENCY workers: $(summary "c$CONCURRENCY-$kind")"

  # Statements per issuance (PostgreSQL): log every statement of a fresh database, run 20
  # issuances on one worker, count what the server logged meanwhile.
  if [ "$kind" = postgres ] && [ -r "$PG_LOG" ]; then
    name="stica_perf_$$_stmts"
    url=$(db_url postgres "$name")
    psql "$PG/postgres" -qc "ALTER DATABASE $name SET log_statement = 'all'" >/dev/null
    DATA="$WORK/data-stmts"
    serve "$DATA" "$url"
    bench "stmts-warmup" --count 2 --concurrency 1 --duration 60s
    before=$(wc -l <"$PG_LOG")
    bench "stmts" --count 20 --concurrency 1 --duration 120s
    sleep 0.5
    n=$(tail -n +"$((before + 1))" "$PG_LOG" | grep -cE 'LOG:  (statement|execute [^:]*):' || true)
    stop
    echo "SQL statements per issuance (incl. BEGIN/COMMIT, whole flow with a new account): $(echo "scale=1; $n / 20" | bc)"
  fi
done
