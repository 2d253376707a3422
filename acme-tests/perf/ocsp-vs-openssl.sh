#!/usr/bin/env bash
# OCSP throughput: stica's responder side by side with `openssl ocsp -multi 2` (which signs every
# response and closes every connection), on this machine, in one run, measured by the same load
# tool (`stica bench ocsp`). Prints a table; the raw JSON reports stay in $WORK.
#
#   cargo build --release -p stica --bin stica
#   acme-tests/perf/ocsp-vs-openssl.sh            # DURATION=10s CONCURRENCY=8 CERTS=4 by default
#
# Environment: STICA (binary, default target/release/stica or $CARGO_TARGET_DIR/release/stica),
# DURATION, CONCURRENCY, CERTS, WORK (kept if set; a temporary directory otherwise), WRK_THREADS
# (default 1), SERVER_CPUS and CLIENT_CPUS (taskset CPU lists: e.g. SERVER_CPUS=0 CLIENT_CPUS=1
# gives each responder one core and the load its own, the nearest this one machine comes to a
# client on another host).
set -euo pipefail

STICA=${STICA:-${CARGO_TARGET_DIR:-target}/release/stica}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-8}
CERTS=${CERTS:-4}
KEEP=${WORK:+1}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
[ -x "$STICA" ] || { echo "no stica binary at $STICA (cargo build --release first)" >&2; exit 1; }

SRV=()
CLI=()
[ -n "${SERVER_CPUS:-}" ] && SRV=(taskset -c "$SERVER_CPUS")
[ -n "${CLIENT_CPUS:-}" ] && CLI=(taskset -c "$CLIENT_CPUS")

pids=()
# openssl's -multi workers do not always leave with their parent: end them by id, then the parent.
cleanup() {
  for p in "${pids[@]}"; do
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null || true)
    kill $kids "$p" 2>/dev/null || true
  done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ -n "$KEEP" ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 1. stica serve (release, SQLite), announced address read from its stdout.
STICA_LOG=warn "${SRV[@]}" "$STICA" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/serve.out" 2>"$WORK/serve.err" &
pids+=($!)
for _ in $(seq 1 200); do
  addr=$(sed -n 's/^stica listening on //p' "$WORK/serve.out" | head -1)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "${addr:-}" ] || { echo "stica did not start:" >&2; cat "$WORK/serve.err" >&2; exit 1; }
BASE="http://$addr"

# 2. A few certificates, through the whole ACME flow.
"$STICA" bench issue --directory "$BASE/directory" --pa-data-dir "$WORK/data/pa" \
  --count "$CERTS" --concurrency 1 --duration 60s --save-chains "$WORK/chains" --json >"$WORK/issue.json"
mapfile -t chains < <(ls "$WORK"/chains/*.pem)
[ "${#chains[@]}" -gt 0 ] || { echo "no certificates issued" >&2; exit 1; }

# 3. openssl's responder: an index.txt for those certificates, signing with the issuing CA's key.
ISSUER="$WORK/data/ca/intermediate.pem"
ISSUER_KEY="$WORK/data/ca/intermediate.key"
: >"$WORK/index.txt"
# Every leaf has the same subject: tell openssl's CA database that is fine.
echo 'unique_subject = no' >"$WORK/index.txt.attr"
for c in "${chains[@]}"; do
  openssl x509 -in "$c" -out "$WORK/leaf.tmp"
  serial=$(openssl x509 -in "$WORK/leaf.tmp" -noout -serial | cut -d= -f2)
  end=$(openssl x509 -in "$WORK/leaf.tmp" -noout -enddate | cut -d= -f2)
  subject=$(openssl x509 -in "$WORK/leaf.tmp" -noout -subject -nameopt compat | sed 's/^subject=//')
  printf 'V\t%s\t\t%s\tunknown\t%s\n' "$(date -u -d "$end" +%y%m%d%H%M%SZ)" "$serial" "$subject" >>"$WORK/index.txt"
done
OPORT=$(free_port)
"${SRV[@]}" openssl ocsp -index "$WORK/index.txt" -port "$OPORT" -rsigner "$ISSUER" -rkey "$ISSUER_KEY" \
  -CA "$ISSUER" -nmin 60 -multi 2 -ignore_err >"$WORK/openssl.out" 2>&1 &
pids+=($!)
# Ready when it prints its ACCEPT line. Not by opening a connection: a -multi worker that gets a
# connection closed without a request spins on it (≈ 85% of a core, seen with top), which took a
# core from both responders in the runs before this was found.
for _ in $(seq 1 100); do
  grep -q '^ACCEPT' "$WORK/openssl.out" 2>/dev/null && break
  sleep 0.05
done

cert_args=()
for c in "${chains[@]}"; do cert_args+=(--cert "$c"); done

# CPU time (clock ticks) of a server: the process (all its threads) and its child processes
# (openssl's -multi workers). Throughput on a shared machine moves with the other load; CPU per
# response does much less.
cpu_ticks() {
  local total=0 p
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
TICK=$(getconf CLK_TCK)

# 4. The same load against both.
run() { # name server_pid url method [flags...]
  local name=$1 spid=$2 url=$3 method=$4; shift 4
  local before after
  before=$(cpu_ticks "$spid")
  "${CLI[@]}" "$STICA" bench ocsp --url "$url" "${cert_args[@]}" --method "$method" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --json "$@" >"$WORK/$name.json"
  after=$(cpu_ticks "$spid")
  echo "$((after - before))" >"$WORK/$name.ticks"
}
run stica-get "${pids[0]}" "$BASE/ocsp" get
run stica-post "${pids[0]}" "$BASE/ocsp" post
run stica-post-nonce "${pids[0]}" "$BASE/ocsp" post --nonce
run openssl-post "${pids[1]}" "http://127.0.0.1:$OPORT" post
run openssl-get "${pids[1]}" "http://127.0.0.1:$OPORT" get
STICA_RSS_KB=$(ps -o rss= -p "${pids[0]}" | tr -d ' ')

# 5. The table.
echo "server CPUs: ${SERVER_CPUS:-any}, client CPUs: ${CLIENT_CPUS:-any}"
echo "OCSP, $(nproc) cores, concurrency $CONCURRENCY, $DURATION per line, ${#chains[@]} certificates; stica RSS after the run: ${STICA_RSS_KB} kB"
printf '| %-30s | %11s | %7s | %7s | %7s | %6s | %16s |\n' responder responses/s "p50 ms" "p90 ms" "p99 ms" errors "server CPU µs/resp"
echo "|--------------------------------|-------------|---------|---------|---------|--------|--------------------|"
for name in stica-get stica-post stica-post-nonce openssl-post openssl-get; do
  ticks=$(cat "$WORK/$name.ticks")
  jq -r --arg n "$name" --argjson ticks "$ticks" --argjson hz "$TICK" '
    [ ($n + " (" + .method + (if .nonce then ", nonce" else "" end) + ")"),
      (.responses_per_sec | floor),
      (.latency.p50_ms // "-"), (.latency.p90_ms // "-"), (.latency.p99_ms // "-"),
      .errors,
      (if .successes > 0 then ($ticks / $hz * 1000000 / .successes | floor) else "-" end)
    ] | @tsv' "$WORK/$name.json" |
    awk -F'\t' '{printf "| %-30s | %11s | %7s | %7s | %7s | %6s | %18s |\n", $1, $2, $3, $4, $5, $6, $7}'
done
ratio() { jq -s '(.[0].responses_per_sec / (if .[1].responses_per_sec > 0 then .[1].responses_per_sec else 1 end) * 10 | floor) / 10' "$WORK/$1.json" "$WORK/$2.json"; }
echo "throughput, stica pre-signed GET / openssl POST: $(ratio stica-get openssl-post)x"
sg=$(cat "$WORK/stica-get.ticks"); op=$(cat "$WORK/openssl-post.ticks")
echo "server CPU per response, openssl POST / stica GET: $(jq -n --argjson a "$op" --argjson b "$sg" --slurpfile x "$WORK/openssl-post.json" --slurpfile y "$WORK/stica-get.json" 'if $b > 0 and $x[0].successes > 0 then (($a / $x[0].successes) / ($b / $y[0].successes) * 10 | floor) / 10 else "-" end')x"

# 6. With wrk (when installed): a load generator in C that costs far less CPU per request than
#    `stica bench ocsp`, so stica's responder, not the client, is what the two cores spend on. One
#    pre-built GET request (RFC 6960 appendix A.1: base64, URL-encoded, after /ocsp/), sent to
#    both responders (openssl closes every connection, so wrk reconnects for each request there;
#    before the readiness fix above, a spinning openssl worker made it answer none).
WRK_THREADS=${WRK_THREADS:-1}
if command -v wrk >/dev/null 2>&1; then
  openssl x509 -in "${chains[0]}" -out "$WORK/leaf.pem"
  openssl ocsp -issuer "$ISSUER" -cert "$WORK/leaf.pem" -no_nonce -reqout "$WORK/req.der" >/dev/null 2>&1
  REQ=$(base64 -w0 "$WORK/req.der" | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g')
  before=$(cpu_ticks "${pids[0]}")
  "${CLI[@]}" wrk -t"$WRK_THREADS" -c"$CONCURRENCY" -d"$DURATION" --latency "$BASE/ocsp/$REQ" >"$WORK/stica-get.wrk" 2>&1 || true
  after=$(cpu_ticks "${pids[0]}")
  f="$WORK/stica-get.wrk"
  rps=$(awk '/Requests\/sec/ {print $2}' "$f")
  echo
  echo "wrk -t$WRK_THREADS -c$CONCURRENCY -d$DURATION, stica pre-signed GET: $rps requests/s," \
    "p50 $(awk '$1=="50%" {print $2}' "$f"), p99 $(awk '$1=="99%" {print $2}' "$f")," \
    "non-2xx $(awk '/Non-2xx/ {print $NF}' "$f" | grep . || echo 0), server CPU $((after - before)) ticks"
  # The same wrk load on openssl's responder (it closes every connection; wrk reconnects).
  "${CLI[@]}" wrk -t"$WRK_THREADS" -c"$CONCURRENCY" -d"$DURATION" --latency "http://127.0.0.1:$OPORT/$REQ" >"$WORK/openssl-get.wrk" 2>&1 || true
  echo "wrk, openssl ocsp -multi 2 GET: $(awk '/Requests\/sec/ {print $2}' "$WORK/openssl-get.wrk") requests/s," \
    "non-2xx $(awk '/Non-2xx/ {print $NF}' "$WORK/openssl-get.wrk" | grep . || echo 0)," \
    "socket errors: $(grep 'Socket errors' "$WORK/openssl-get.wrk" || echo none)"
  o=$(jq '.responses_per_sec' "$WORK/openssl-get.json")
  ow=$(awk '/Requests\/sec/ {print $2}' "$WORK/openssl-get.wrk")
  echo "stica GET (wrk) / openssl GET (wrk, same client): $(awk -v s="$rps" -v o="${ow:-0}" 'BEGIN { if (o > 0) printf "%.1f", s / o; else print "-" }')x"
  echo "stica GET (wrk) / openssl GET (its best client, stica bench ocsp): $(awk -v s="$rps" -v o="$o" 'BEGIN { if (o > 0) printf "%.1f", s / o; else print "-" }')x"
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average at the end: $load"
[ -n "$KEEP" ] && echo "reports in $WORK" || true
