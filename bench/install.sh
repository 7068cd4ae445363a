#!/usr/bin/env bash
# Install throughput with scripts off: the Go benchmark installs a generated
# world (40 packages, ~24 MB in ~1,240 files) into an empty root, on the
# disk under TMPDIR (default /tmp) and on tmpfs (/dev/shm).
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./internal/apk/install/ -run '^$' -bench BenchmarkInstall -benchtime 10x -count "${1:-3}"
TMPDIR=/dev/shm go test ./internal/apk/install/ -run '^$' -bench BenchmarkInstall -benchtime 10x -count "${1:-3}"
