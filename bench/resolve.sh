#!/usr/bin/env bash
# Times `cairn apk resolve` of the node-cluster world against the real
# Alpine 3.19 main and community indexes (23,030 packages), as a whole
# command: wall time and peak RSS (GNU time), median of N runs.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-11}
fx=../shared/fixtures/alpine-v3.19
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
CGO_ENABLED=0 go build -o /tmp/cairn-bench ./cmd/cairn
world=$(sed -n '1s/^# world: //p' "$fx/resolve/node-cluster.txt")
for i in $(seq "$n"); do
	/usr/bin/time -f "%e %M" /tmp/cairn-bench apk resolve \
		--keys-dir "$fx/keys" \
		--repository "$fx/main-x86_64-APKINDEX.tar.gz" \
		--repository "$fx/community-x86_64-APKINDEX.tar.gz" \
		$world 2>&1 >/dev/null | tail -1
done | sort -n | awk -v n="$n" '
	{ t[NR] = $1; if ($2 > m) m = $2 }
	END { printf "runs %d  median %.3f s  min %.3f s  max %.3f s  peak RSS %.1f MB\n", n, t[int((n+1)/2)], t[1], t[n], m/1024 }'
