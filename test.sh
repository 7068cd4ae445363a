#!/usr/bin/env bash
# cairn's test suite, as CI runs it: installs what it needs (Debian, as
# root), checks formatting and vet, runs every test (unit, golden, system,
# boot) and each fuzz target for a short time.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
cairn_setup

test -z "$(gofmt -l $(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $(git ls-files '*.go'); exit 1; }
go vet ./...
CGO_ENABLED=0 go build -o /dev/null ./cmd/cairn
CGO_ENABLED=0 go build -o /dev/null ./cmd/cairn-init
# The boot tests take minutes under software emulation: a generous limit.
go test -count=1 -timeout 60m ./...

# Fuzz targets, a few seconds each.
fuzztime=${CAIRN_FUZZTIME:-5s}
go list -f '{{.Dir}} {{.ImportPath}}' ./... | while read -r dir pkg; do
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "fuzz $pkg $target"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
