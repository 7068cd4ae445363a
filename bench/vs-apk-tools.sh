#!/usr/bin/env bash
# cairn side by side with real apk-tools 2.14 (../shared/tools/real-apk, the
# apk of Alpine 3.19 in a chroot), in one run, N pairs (default 7) taken in
# turn (cairn first in odd pairs, apk first in even ones):
#
#   install  the standard world (alpine-base openssh chrony, 47 packages,
#            scripts and the busybox trigger) from the ISO repository of
#            ../shared/fixtures into an empty root (--initdb)
#   resolve  the node-cluster world (../shared/fixtures/alpine-v3.19/resolve)
#            against Alpine 3.19 main + community, `apk add --simulate` into
#            an empty root; both print the same 227 change lines
#
# Every figure is the whole process as GNU time sees it: wall seconds, CPU
# seconds (user + system, children included), peak RSS. The roots of both
# tools are on the same file system (the chroot's directory under TMPDIR),
# and `sync` runs before each timed command so that neither pays for the
# other's writeback. Prints medians and the median of the pairwise ratios.
# NO_SCRIPTS=1 installs with --no-scripts (both tools), which shows what
# the package scripts cost each. Needs root (chroot), GNU time and Go.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-7}
fx=../shared/fixtures/alpine-v3.19
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (real-apk chroots)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-vs-apk.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REAL_APK=$work/real-apk
../shared/tools/real-apk setup >/dev/null
ra=$REAL_APK
CGO_ENABLED=0 go build -o "$work/cairn" ./cmd/cairn
iso=$(cd "$fx/iso" && pwd)

newroot() { mkdir -p "$ra/$1/etc/apk" && cp -r "$ra/etc/apk/keys" "$ra/$1/etc/apk/"; }

# measure NAME CMD...: run CMD once, append "wall cpu peak_KiB" to $work/NAME.
measure() {
	local name=$1
	shift
	sync
	/usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >"$work/out.$name" 2>"$work/err" ||
		{ echo "$name failed:" >&2; cat "$work/err" >&2; exit 1; }
	awk '{ printf "%s %.3f %s\n", $1, $2 + $3, $4 }' "$work/t" >>"$work/$name"
}

for r in main community; do
	mkdir -p "$ra/$r/x86_64"
	cp "$fx/$r-x86_64-APKINDEX.tar.gz" "$ra/$r/x86_64/APKINDEX.tar.gz"
done
newroot sim
chroot "$ra" /sbin/apk add --quiet --root /sim --initdb --arch x86_64 >/dev/null
world=$(sed -n '1s/^# world: //p' "$fx/resolve/node-cluster.txt")

noscripts=${NO_SCRIPTS:+--no-scripts}
install_apk() { measure install-apk chroot "$ra" /sbin/apk add $noscripts --root "/$1" --initdb --no-network --arch x86_64 --repository /repo alpine-base openssh chrony; }
install_cairn() { measure install-cairn "$work/cairn" apk add $noscripts --root "$ra/$1" --initdb --no-network --arch x86_64 --repository "$iso" alpine-base openssh chrony; }
resolve_apk() { measure resolve-apk chroot "$ra" /sbin/apk add --simulate --root /sim --repository /main --repository /community --arch x86_64 $world; }
resolve_cairn() { measure resolve-cairn "$work/cairn" apk add --simulate --root "$ra/sim" --repository "$ra/main" --repository "$ra/community" --arch x86_64 $world; }

for i in $(seq "$n"); do
	newroot "a$i"
	newroot "c$i"
	if [ $((i % 2)) = 1 ]; then
		install_cairn "c$i"; install_apk "a$i"; resolve_cairn; resolve_apk
	else
		install_apk "a$i"; install_cairn "c$i"; resolve_apk; resolve_cairn
	fi
	rm -rf "${ra:?}/a$i" "${ra:?}/c$i"
done
# The same choice, line for line (apk 2.14.0 prints the database's state in
# the summary line under --simulate, later versions and cairn the result).
if ! diff <(sed '$d' "$work/out.resolve-apk") <(sed '$d' "$work/out.resolve-cairn") >/dev/null; then
	echo "resolve: cairn and apk-tools chose differently" >&2
	exit 1
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { awk -v c="$2" '{ print $c }' "$work/$1"; }
ratio() { paste "$work/$1-cairn" "$work/$1-apk" | awk -v c="$2" '{ printf "%.3f\n", $c / $(c + 3) }' | median; }

echo "pairs: $n   host: $(nproc) cores, $(uname -r), $(df -T "$ra" | awk 'NR == 2 { print $2 }') under ${TMPDIR:-/tmp}"
printf "%-8s %-6s %10s %10s %10s\n" job tool "wall s" "cpu s" "peak MiB"
for job in install resolve; do
	for tool in cairn apk; do
		printf "%-8s %-6s %10s %10s %10.1f\n" "$job" "$tool" \
			"$(col "$job-$tool" 1 | median)" "$(col "$job-$tool" 2 | median)" "$(col "$job-$tool" 3 | median | awk '{ print $1 / 1024 }')"
	done
	printf "%-8s %-6s %10s %10s %10s\n" "$job" "ratio" "$(ratio "$job" 1)" "$(ratio "$job" 2)" "$(ratio "$job" 3)"
done
