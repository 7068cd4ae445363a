#!/usr/bin/env bash
# cairn's main job, offline: build a whole system from a manifest.
#
# 1. build cairn (static);
# 2. make a signed local repository: real Alpine 3.19 packages from
#    ../shared/fixtures and Debian's static busybox wrapped as an apk
#    package by `cairn apk mkpkg`, indexed and signed by `cairn apk index`;
# 3. `cairn build` examples/offline/system.yaml into demo/root, writing
#    cairn.lock; then build again from the lock and check that both trees
#    are identical.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
cairn_setup

fixtures=../shared/fixtures/alpine-v3.19
demo=$PWD/demo
rm -rf "$demo"
mkdir -p "$demo/repo/x86_64" "$demo/keys" "$demo/bin" "$demo/busybox/bin"

step() { printf '\n== %s\n' "$*"; }

step "build cairn (static)"
CGO_ENABLED=0 go build -o "$demo/bin/cairn" ./cmd/cairn
cairn=$demo/bin/cairn
export SOURCE_DATE_EPOCH=1706291505

step "a signed local repository"
openssl genrsa -out "$demo/demo.rsa" 2048 2>/dev/null
openssl rsa -in "$demo/demo.rsa" -pubout -out "$demo/keys/demo.rsa.pub" 2>/dev/null
cp "$fixtures"/keys/*.rsa.pub "$demo/keys/"
for p in alpine-baselayout-data-3.4.3-r2 alpine-keys-2.4-r1 alpine-release-3.19.1-r0 tzdata-2023d-r0; do
	cp "$fixtures/packages/$p.apk" "$demo/repo/x86_64/"
done
cp /bin/busybox "$demo/busybox/bin/busybox"
ln -s busybox "$demo/busybox/bin/sh"
"$cairn" apk mkpkg --name busybox --version 1.35.0-r0 --arch x86_64 \
	--description "Debian's static busybox" --license GPL-2.0-only --provides cmd:sh \
	--sign-key "$demo/demo.rsa" --key-name demo.rsa.pub \
	-o "$demo/repo/x86_64/busybox-1.35.0-r0.apk" "$demo/busybox"
"$cairn" apk index --keys-dir "$demo/keys" -d "cairn demo repository" --rewrite-arch x86_64 \
	--sign-key "$demo/demo.rsa" --key-name demo.rsa.pub \
	-o "$demo/repo/x86_64/APKINDEX.tar.gz" "$demo"/repo/x86_64/*.apk

step "build the system of examples/offline/system.yaml into demo/root"
cp examples/offline/system.yaml "$demo/system.yaml"
"$cairn" build -f "$demo/system.yaml" --root "$demo/root" --cache-dir "$demo/cache"

step "the result"
root=$demo/root
echo "alpine-release: $(cat "$root/etc/alpine-release")   hostname: $(cat "$root/etc/hostname")"
echo "world: $(tr '\n' ' ' < "$root/etc/apk/world")"
echo "packages: $(grep -c '^P:' "$root/lib/apk/db/installed"), files recorded: $(grep -c '^R:' "$root/lib/apk/db/installed")"
grep '^alice:' "$root/etc/passwd"
ls -l "$root/etc/runlevels/default/"
head -12 "$root/etc/init.d/webserver"
cat "$root/etc/cairn-demo"
echo "lock: $(grep -c 'name:' "$demo/cairn.lock") entries, $(sed -n 's/^sourceDateEpoch: //p' "$demo/cairn.lock" 2>/dev/null || true)"

step "build again from cairn.lock into demo/root2 and compare every path"
"$cairn" build --frozen -f "$demo/system.yaml" --root "$demo/root2" --cache-dir "$demo/cache" >/dev/null
list() { (cd "$1" && find . -printf '%p %M %U:%G %T@ %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
if diff <(list "$demo/root") <(list "$demo/root2") >/dev/null; then
	echo "identical: every path, mode, owner, time, size, link target and content"
else
	echo "the two builds differ:" >&2
	diff <(list "$demo/root") <(list "$demo/root2") | head -20 >&2
	exit 1
fi
