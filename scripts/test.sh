#!/usr/bin/env bash
# Runs every test of the project: formatting and vet, the Go tests of every
# package of every module (the core, broker/redis, broker/nats,
# examples/chat, bench, bench/centrifuge) with the race detector (fuzz seed corpora included), the
# Node interop suite that drives the Go server with the official @hapi/nes
# client, the reverse suite that drives a real hapi + nes server with the Go
# client, and the broker conformance suites against a real redis-server and
# an embedded nats-server.
# Works on a fresh clone with Go 1.26+ and Node 20+; installs the npm packages
# the suites need from package-lock.json, and Debian's redis-server when it
# is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is required but not on PATH" >&2; exit 1; }; }
need go
need node
need npm

echo "== redis-server (the Redis broker's tests start their own on 127.0.0.1)"
if ! command -v redis-server >/dev/null 2>&1; then
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	command -v apt-get >/dev/null 2>&1 || { echo "test.sh: redis-server is missing and apt-get is not available" >&2; exit 1; }
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version

echo "== npm ci (interop: the official client; interop/hapi: a real hapi + nes server)"
npm ci --prefix interop --no-audit --no-fund --loglevel=error
npm ci --prefix interop/hapi --no-audit --no-fund --loglevel=error

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

# Each module is checked on its own go.mod (GOWORK=off), as its users get it.
modules=(. broker/redis broker/nats examples/chat bench bench/centrifuge)
for m in "${modules[@]}"; do
	echo "== go vet ($m)"
	(cd "$m" && GOWORK=off go vet ./...)
done
for m in "${modules[@]}"; do
	echo "== go test -race ($m)"
	(cd "$m" && GOWORK=off go test -race -count=1 -timeout 15m ./...)
done
