#!/usr/bin/env bash
# Runs the side-by-side benchmark of nes for Go against hapi + @hapi/nes and
# centrifuge on this machine, every scenario on a fresh server process, then
# writes bench/results/latest.jsonl (the load tool's JSON lines),
# latest.md (the table and the targets), latest-gobench.txt, the chart
# (docs/bench.png), and the table section of docs/benchmarks.md. A QUICK
# run writes bench/results/quick.* only.
#
#   ./bench/run.sh            # the full run (about 16 minutes on 2 cores)
#   QUICK=1 ./bench/run.sh    # small parameters: checks that everything works
#
# Needs Go 1.26 and Node 20 with npm; installs the hapi server's packages
# from bench/hapi/package-lock.json. Traffic stays on 127.0.0.0/8.
set -euo pipefail
cd "$(dirname "$0")"
bench=$PWD
out=$bench/results
bin=$bench/bin
mkdir -p "$out" "$bin"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "== open files per process: $(ulimit -n)"

echo "== building (load tool, servers, report)"
npm ci --prefix hapi --no-audit --no-fund --loglevel=error
GOWORK=off go build -o "$bin/load" ./cmd/load
GOWORK=off go build -o "$bin/nesserver" ./cmd/nesserver
GOWORK=off go build -o "$bin/report" ./cmd/report
(cd centrifuge && GOWORK=off go build -o "$bin/cfserver" .)

if [ -n "${QUICK:-}" ]; then
	subs_small=100 subs_large=1000 conns=1000 duration=2s rounds=2 slow_bursts=4
else
	subs_small=1000 subs_large=10000 conns=10000 duration=10s rounds=7 slow_bursts=20
fi

run_name=latest
if [ -n "${QUICK:-}" ]; then run_name=quick; fi # a smoke run leaves the full run's results alone
results=$out/$run_name.jsonl
: >"$results"
log=$out/$run_name.log
: >"$log"

# The servers stop when their stdin ends: give them one that stays open.
stdin_fifo=$out/.stdin
rm -f "$stdin_fifo"
mkfifo "$stdin_fifo"
exec 7<>"$stdin_fifo"
trap 'rm -f "$stdin_fifo"' EXIT

server_pid=""
# Set for the pinned rounds only: command prefixes that put the server and
# the load tool on a core each, and the load tool's -variant.
server_pin=() load_pin=() variant_args=()
# start NAME: starts a fresh server, sets server_pid, http_url and ws_url.
start() {
	local name=$1 listen=$out/.listen
	: >"$listen"
	case $name in
	nes-go) "${server_pin[@]}" "$bin/nesserver" -addr 127.0.0.1:0 <"$stdin_fifo" >"$listen" 2>>"$log" & ;;
	hapi-nes) "${server_pin[@]}" node hapi/server.js -addr 127.0.0.1:0 <"$stdin_fifo" >"$listen" 2>>"$log" & ;;
	centrifuge) "${server_pin[@]}" "$bin/cfserver" -addr 127.0.0.1:0 <"$stdin_fifo" >"$listen" 2>>"$log" & ;;
	esac
	server_pid=$!
	for _ in $(seq 300); do
		if grep -q '^LISTENING ' "$listen"; then break; fi
		sleep 0.1
	done
	http_url=$(awk '/^LISTENING /{print $2; exit}' "$listen")
	if [ -z "$http_url" ]; then
		echo "run.sh: $name did not start; its log:" >&2
		tail -20 "$log" >&2
		exit 1
	fi
	case $name in
	nes-go) ws_url=ws${http_url#http}/nes proto=nes ;;
	hapi-nes) ws_url=ws${http_url#http}/ proto=nes ;;
	centrifuge) ws_url=ws${http_url#http}/connection/websocket proto=centrifuge ;;
	esac
}

stop() {
	kill -TERM "$server_pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	sleep 1 # let the kernel settle the closed connections
}

# scenario NAME ARGS...: one scenario on a fresh server NAME.
scenario() {
	local name=$1
	shift
	start "$name"
	echo "== $name: $* ${variant_args[*]}"
	if ! "${load_pin[@]}" "$bin/load" -label "$name" -proto "$proto" -ws "$ws_url" -http "$http_url" -pid "$server_pid" "${variant_args[@]}" "$@" >>"$results" 2>>"$log"; then
		echo "run.sh: $name $* failed; the log's end:" >&2
		tail -5 "$log" >&2
	fi
	stop
}

for name in nes-go hapi-nes centrifuge; do
	scenario "$name" -scenario fanout -subs "$subs_small" -burst 200 -size 100 -rounds "$rounds"
	scenario "$name" -scenario fanout -subs "$subs_large" -burst 200 -size 100 -rounds "$rounds" -wait 180s
	scenario "$name" -scenario conns -conns "$conns"
	# 20 bursts of 500 KB: the healthy subscribers keep up, the stalled one
	# falls 10 MB behind (over nes's 4 MiB and centrifuge's 1 MiB bounds).
	scenario "$name" -scenario slow -subs 100 -burst 500 -size 1000 -slow-bursts "$slow_bursts" -wait 180s
	# Last: it leaves thousands of sockets in TIME_WAIT for a minute.
	scenario "$name" -scenario connect -concurrency 50 -duration 5s
done
# Request round trips: three rounds, each running every server in turn (and
# nes-go's plain HTTP), so that a slow spell of the shared machine does not
# fall on one server only; the report takes the medians.
for round in 1 2 3; do
	for name in nes-go hapi-nes centrifuge; do
		scenario "$name" -scenario rtt -clients 50 -duration "$duration"
	done
	scenario nes-go -scenario httprtt -clients 50 -duration "$duration"
done
# The same round trips with the clients paced to one rate for every server:
# 80 % of the slower Go server's median above, so that nes-go and centrifuge
# serve the same load (hapi cannot carry it, and shows what it achieves).
# Not a target: the standard rounds compare the servers each at its own
# rate, and the faster one loads the shared cores more (docs/benchmarks.md,
# "The request tail").
paced_rate=$("$bin/report" -results "$results" -paced-rate)
echo "== paced rtt rounds at $paced_rate requests/s"
variant_args=(-variant paced -rate "$paced_rate")
for round in 1 2 3; do
	for name in nes-go hapi-nes centrifuge; do
		scenario "$name" -scenario rtt -clients 50 -duration "$duration"
	done
done
variant_args=()
# The same round trips with the server on core 0 and the load tool on core 1
# (each then runs with GOMAXPROCS=1). Not a target: it shows the servers
# without the two processes sharing the cores (docs/benchmarks.md, "The
# request tail").
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server_pin=(taskset -c 0) load_pin=(taskset -c 1) variant_args=(-variant pinned)
	for round in 1 2 3; do
		for name in nes-go hapi-nes centrifuge; do
			scenario "$name" -scenario rtt -clients 50 -duration "$duration"
		done
	done
	server_pin=() load_pin=() variant_args=()
else
	echo "== no pinned rtt rounds: they need taskset and 2 CPUs" >&2
fi

echo "== go test -bench BenchmarkPublish (allocations per publish)"
(cd .. && go test -run XXX -bench 'BenchmarkPublish$' -benchmem -benchtime 2000x ./nes/) | tee "$out/$run_name-gobench.txt"

machine="Run of $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | awk '{print $3}'), Node $(node --version); command: \`./bench/run.sh\`${QUICK:+ (QUICK=1)}."
docs=()
if [ -z "${QUICK:-}" ]; then docs=(-docs ../docs/benchmarks.md); fi
"$bin/report" -results "$results" -gobench "$out/$run_name-gobench.txt" -md "$out/$run_name.md" -png "$out/$run_name.png" -machine "$machine" "${docs[@]}"
if [ -z "${QUICK:-}" ]; then cp "$out/latest.png" ../docs/bench.png; fi
echo "== wrote $out/$run_name.md, $out/$run_name.png${docs:+, docs/benchmarks.md and docs/bench.png}"
