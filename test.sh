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

# Fuzz targets, 20 seconds each (CAIRN_FUZZTIME), about 10 minutes in all
# with the instrumented builds. Go minimizes every input that finds new
# coverage for up to 60 s by default, which left a 5 s run 5-10
# executions; 100 runs per minimization keep the time for fuzzing
# (thousands of executions a second for the parsers). A failing input is
# still written, minimized as far as those runs allow.
fuzztime=${CAIRN_FUZZTIME:-20s}
minimize=${CAIRN_FUZZMINIMIZE:-100x}
# fuzz_one runs one target. Go 1.26's fuzzing coordinator can fail a
# target with a bare "context deadline exceeded" when -fuzztime runs out
# while a worker is busy (go.dev/issue/75804, fixed in Go 1.27): no input
# failed then, and none was written. That one case is run again, up to
# three times in all; a real failure always says "Failing input written"
# and fails at once.
fuzz_one() {
	local log try
	log=$(mktemp)
	for try in 1 2 3; do
		if go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$1" 2>&1 | tee "$log"; then
			rm -f "$log"
			return 0
		fi
		if ! grep -q 'context deadline exceeded' "$log" || grep -q 'Failing input written' "$log"; then
			break
		fi
		echo "fuzz $1 $2: Go's -fuzztime deadline race (go.dev/issue/75804), no failing input (try $try of 3)"
	done
	rm -f "$log"
	return 1
}
go list -f '{{.Dir}} {{.ImportPath}}' ./... | while read -r dir pkg; do
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "fuzz $pkg $target"
		fuzz_one "$pkg" "$target"
	done
done
