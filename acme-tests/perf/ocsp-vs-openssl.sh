#!/usr/bin/env bash
# OCSP throughput: stica's responder side by side with `openssl ocsp -multi 2` (which signs every
# response and closes every connection), on this machine, in one run, measured by the same load
# tool (`stica bench ocsp`). Prints a table; the raw JSON reports stay in $WORK.
#
#   cargo build --release -p stica --bin stica
#   acme-tests/perf/ocsp-vs-openssl.sh            # DURATION=10s CONCURRENCY=16 CERTS=4 by default
#
# Environment: STICA (binary, default target/release/stica or $CARGO_TARGET_DIR/release/stica),
# DURATION, CONCURRENCY, CERTS, WORK (kept if set; a temporary directory otherwise).
set -euo pipefail

STICA=${STICA:-${CARGO_TARGET_DIR:-target}/release/stica}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-16}
CERTS=${CERTS:-4}
KEEP=${WORK:+1}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
[ -x "$STICA" ] || { echo "no stica binary at $STICA (cargo build --release first)" >&2; exit 1; }

pids=()
# Each server runs in a process group of its own (setsid): openssl's -multi workers do not
# always leave with their parent, so the whole group is ended, by its id.
cleanup() {
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  [ -n "$KEEP" ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 1. stica serve (release, SQLite), announced address read from its stdout.
STICA_LOG=warn setsid "$STICA" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/serve.out" 2>"$WORK/serve.err" &
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
setsid openssl ocsp -index "$WORK/index.txt" -port "$OPORT" -rsigner "$ISSUER" -rkey "$ISSUER_KEY" \
  -CA "$ISSUER" -nmin 60 -multi 2 -ignore_err >"$WORK/openssl.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$OPORT") 2>/dev/null && break
  sleep 0.05
done

cert_args=()
for c in "${chains[@]}"; do cert_args+=(--cert "$c"); done

# 4. The same load against both.
run() { # name url method [flags...]
  local name=$1 url=$2 method=$3; shift 3
  "$STICA" bench ocsp --url "$url" "${cert_args[@]}" --method "$method" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --json "$@" >"$WORK/$name.json"
}
run stica-get "$BASE/ocsp" get
run stica-post "$BASE/ocsp" post
run stica-post-nonce "$BASE/ocsp" post --nonce
run openssl-post "http://127.0.0.1:$OPORT" post
run openssl-get "http://127.0.0.1:$OPORT" get
STICA_RSS_KB=$(ps -o rss= -p "${pids[0]}" | tr -d ' ')

# 5. The table.
echo "OCSP, $(nproc) cores, concurrency $CONCURRENCY, $DURATION per line, ${#chains[@]} certificates; stica RSS after the run: ${STICA_RSS_KB} kB"
printf '| %-34s | %12s | %8s | %8s | %8s | %7s |\n' responder responses/s "p50 ms" "p90 ms" "p99 ms" errors
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" "$(printf -- '-%.0s' {1..14})" "----------" "----------" "----------" "---------"
for name in stica-get stica-post stica-post-nonce openssl-post openssl-get; do
  jq -r --arg n "$name" '"| \($n + " (" + .method + (if .nonce then ", nonce" else "" end) + ")" | .[0:34]) | \(.responses_per_sec|floor) | \(.latency.p50_ms // "-") | \(.latency.p90_ms // "-") | \(.latency.p99_ms // "-") | \(.errors) |"' "$WORK/$name.json" |
    awk -F'|' '{printf "| %-34s | %12s | %8s | %8s | %8s | %7s |\n", substr($2,2,length($2)-2), $3+0, $4, $5, $6, $7+0}'
done
ratio() { jq -s '(.[0].responses_per_sec / (if .[1].responses_per_sec > 0 then .[1].responses_per_sec else 1 end) * 10 | floor) / 10' "$WORK/$1.json" "$WORK/$2.json"; }
echo "stica pre-signed GET / openssl POST: $(ratio stica-get openssl-post)x"
[ -n "$KEEP" ] && echo "reports in $WORK" || true
