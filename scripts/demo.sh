#!/usr/bin/env bash
# Runs the chat demo (examples/chat) on http://127.0.0.1:8080.
#
# Installs the official @hapi/nes browser client with npm (the page loads it
# from examples/chat/web/node_modules), then starts the Go server. Any
# argument is passed to the server, e.g.:
#
#   ./scripts/demo.sh -addr 127.0.0.1:9000
#   ./scripts/demo.sh -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 -secret s3cret
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

web=examples/chat/web
if [[ -f "$web/package-lock.json" ]]; then
	npm ci --prefix "$web" --no-audit --no-fund
else
	npm install --prefix "$web" --no-audit --no-fund
fi

exec go run ./examples/chat "$@"
