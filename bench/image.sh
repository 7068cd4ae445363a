#!/usr/bin/env bash
# The tar image against the plain shell way on the same tree: time, output
# size and peak memory, the median of N runs (default 3).
#
# The tree: the real Alpine 3.19 packages of ../shared/fixtures extracted
# into a root, plus ~150 MB of generated files of mixed compressibility
# (internal/image/imagetest.Generate). The page cache is warmed first;
# every command then runs on the warm tree and writes to the same disk.
# cairn's side runs in a process of its own (internal/image/imagebench);
# for a shell pipeline, time is the pipeline's wall time and memory is the
# peak RSS of each process (tar + compressor).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=${TMPDIR:-/tmp}/cairn-bench-image
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

go build -o "$work/imagebench" ./internal/image/imagebench
"$work/imagebench" tree -dir "$work/root" -mb 150 -apks '../shared/fixtures/alpine-v3.19/packages/*.apk'
echo "tree: $(find "$work/root" | wc -l) entries, $(du -sm "$work/root" | cut -f1) MB; $(nproc) cores"
find "$work/root" -type f -exec cat {} + >/dev/null

# now returns the time in seconds with nanoseconds.
now() { date +%s.%N; }

# median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure NAME OUTPUT CMD...: runs CMD (a bash snippet) $runs times; the
# snippet writes OUTPUT and its processes write peak RSS (KB) to files
# "$work/mem.*" through /usr/bin/time.
measure() {
	local name=$1 out=$2 snippet=$3 i t0 t1 times="" mems=""
	for i in $(seq "$runs"); do
		rm -f "$out" "$work"/mem.*
		# Nothing dirty left from the previous command: cairn syncs its
		# output before renaming it, and on ext4 that sync would also
		# wait for other files' writeback.
		sync
		t0=$(now)
		bash -c "$snippet"
		t1=$(now)
		times+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"$'\n'
		mems+="$(cat "$work"/mem.* | awk '{s+=$1} END {print s / 1024}')"$'\n'
	done
	printf '| %s | %.2f s | %s | %.1f MB |\n' "$name" \
		"$(printf '%s' "$times" | median)" "$(stat -c %s "$out")" \
		"$(printf '%s' "$mems" | median)"
}

T="/usr/bin/time -f %M"
cd "$work"
echo
echo "| command | wall time (median of $runs) | output bytes | peak RSS |"
echo "| --- | --- | --- | --- |"
# Names are Markdown table cells: a pipe is \|.
measure "cairn tar, gzip" a.tar.gz "$T -o mem.1 ./imagebench tar -root root -o a.tar.gz -compression gzip >/dev/null"
measure "\`tar --sort=name -c . \\| gzip\`" b.tar.gz "$T -o mem.1 tar --sort=name -C root -c . | $T -o mem.2 gzip > b.tar.gz"
measure "\`tar --sort=name -c . \\| gzip -9\`" c.tar.gz "$T -o mem.1 tar --sort=name -C root -c . | $T -o mem.2 gzip -9 > c.tar.gz"
measure "cairn tar, zstd" a.tar.zst "$T -o mem.1 ./imagebench tar -root root -o a.tar.zst -compression zstd >/dev/null"
if command -v zstd >/dev/null; then
	measure "\`tar --sort=name -c . \\| zstd -T0 -3\`" b.tar.zst "$T -o mem.1 tar --sort=name -C root -c . | $T -o mem.2 zstd -q -T0 -3 > b.tar.zst"
fi
measure "cairn tar, none" a.tar "$T -o mem.1 ./imagebench tar -root root -o a.tar -compression none >/dev/null"
measure "\`tar --sort=name -c .\`" b.tar "$T -o mem.1 tar --sort=name -C root -cf b.tar ."
measure "cairn oci (gzip layer), as oci-archive" a-oci.tar "$T -o mem.1 ./imagebench oci -root root -o a-oci.tar >/dev/null"
