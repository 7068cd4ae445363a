#!/usr/bin/env bash
# cairn's main job, offline: build cairn, make a signed local repository
# from real Alpine 3.19 packages (../shared/fixtures), and install a world
# from it into ./demo/root the way apk would, database and all.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
cairn_setup

fixtures=../shared/fixtures/alpine-v3.19
demo=$PWD/demo
rm -rf "$demo"
mkdir -p "$demo/repo/x86_64" "$demo/keys" "$demo/bin"

echo "== build cairn (static)"
CGO_ENABLED=0 go build -o "$demo/bin/cairn" ./cmd/cairn
cairn=$demo/bin/cairn

echo "== a local repository of real Alpine packages, indexed and signed with a new key"
for p in alpine-baselayout-data-3.4.3-r2 alpine-keys-2.4-r1 alpine-release-3.19.1-r0 tzdata-2023d-r0; do
	cp "$fixtures/packages/$p.apk" "$demo/repo/x86_64/"
done
openssl genrsa -out "$demo/demo.rsa" 2048 2>/dev/null
openssl rsa -in "$demo/demo.rsa" -pubout -out "$demo/keys/demo.rsa.pub" 2>/dev/null
cp "$fixtures"/keys/*.rsa.pub "$demo/keys/"
"$cairn" apk index --keys-dir "$demo/keys" -d "cairn demo repository" --rewrite-arch x86_64 \
	--sign-key "$demo/demo.rsa" --key-name demo.rsa.pub \
	-o "$demo/repo/x86_64/APKINDEX.tar.gz" "$demo"/repo/x86_64/*.apk
"$cairn" apk verify --keys-dir "$demo/keys" "$demo"/repo/x86_64/*.apk

echo "== resolve and install a world into demo/root"
"$cairn" apk resolve --keys-dir "$demo/keys" --repository "$demo/repo" alpine-release tzdata alpine-baselayout-data
"$cairn" apk add --root "$demo/root" --initdb --keys-dir "$demo/keys" --repository "$demo/repo" \
	alpine-release tzdata alpine-baselayout-data

echo "== the result"
cat "$demo/root/etc/alpine-release"
cat "$demo/root/etc/apk/world"
grep -c '^R:' "$demo/root/lib/apk/db/installed" | sed 's/^/files recorded in lib\/apk\/db\/installed: /'
du -sh "$demo/root"
