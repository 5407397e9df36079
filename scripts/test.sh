#!/usr/bin/env bash
# Runs every test of the project: formatting and vet, the Go tests of every
# package with the race detector (fuzz seed corpora included), the Node
# interop suite that drives the Go server with the official @hapi/nes client,
# and the reverse suite that drives a real hapi + nes server with the Go
# client.
# Works on a fresh clone with Go 1.26+ and Node 20+; installs the npm packages
# the suites need from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is required but not on PATH" >&2; exit 1; }; }
need go
need node
need npm

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

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...
