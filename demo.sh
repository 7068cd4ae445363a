#!/usr/bin/env bash
# cairn's main job, offline: build a system from a manifest, make it a
# generation on a bootable disk, boot it, update it, and watch a bad update
# fall back by itself.
#
#  1. build cairn and cairn-init (static);
#  2. make a signed local repository with cairn's own apk tooling: real
#     Alpine 3.19 packages from ../shared/fixtures, Debian's static busybox
#     and Debian's cloud kernel wrapped as apk packages (busybox, linux-virt);
#  3. build examples/offline twice into plain directories: identical trees;
#  4. make a disk image (MBR, ext4 /boot with extlinux, btrfs with a cairn
#     store), build examples/boot-demo as generation 1, boot it in qemu: it
#     comes up on trial and confirms itself;
#  5. build generation 2, switch, boot, confirm;
#  6. build generation 3 whose health check fails: it boots once, is not
#     confirmed, and the next boot is generation 2 again, with no command
#     in between;
#  7. make the same system a RAM image (cairn image --format initramfs)
#     and boot it: it runs from a tmpfs and its health check passes.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
cairn_setup

fixtures=../shared/fixtures/alpine-v3.19
demo=$PWD/demo
step() { printf '\n== %s\n' "$*"; }

# Whatever happens, leave no mount or loop device behind.
mounts=() loops=()
cleanup() {
	local m l
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	mounts=() loops=()
}
trap cleanup EXIT

rm -rf "$demo"
mkdir -p "$demo/repo/x86_64" "$demo/keys" "$demo/bin" "$demo/pkg/busybox/bin" "$demo/pkg/kernel/boot" "$demo/debs"

step "build cairn and cairn-init (static)"
for c in cairn cairn-init; do
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$demo/bin/$c" "./cmd/$c"
done
cairn=$demo/bin/cairn
export SOURCE_DATE_EPOCH=1706291505

step "a signed local repository: Alpine's packages, Debian's busybox and kernel"
openssl genrsa -out "$demo/demo.rsa" 2048 2>/dev/null
openssl rsa -in "$demo/demo.rsa" -pubout -out "$demo/keys/demo.rsa.pub" 2>/dev/null
cp "$fixtures"/keys/*.rsa.pub "$demo/keys/"
for p in alpine-baselayout-data-3.4.3-r2 alpine-keys-2.4-r1 alpine-release-3.19.1-r0 tzdata-2023d-r0; do
	cp "$fixtures/packages/$p.apk" "$demo/repo/x86_64/"
done
mkpkg() { "$cairn" apk mkpkg --arch x86_64 --sign-key "$demo/demo.rsa" --key-name demo.rsa.pub "$@"; }
cp /bin/busybox "$demo/pkg/busybox/bin/busybox"
ln -s busybox "$demo/pkg/busybox/bin/sh"
mkpkg --name busybox --version 1.35.0-r0 --description "Debian's static busybox" --license GPL-2.0-only \
	--provides cmd:sh -o "$demo/repo/x86_64/busybox-1.35.0-r0.apk" "$demo/pkg/busybox"
kpkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-.*-cloud-amd64\)$/\1/p' | head -n1)
(cd "$demo/debs" && apt-get download -q "$kpkg" >/dev/null)
dpkg-deb -x "$demo"/debs/*.deb "$demo/debs/tree"
kver=${kpkg#linux-image-}
cp "$demo/debs/tree/boot/vmlinuz-$kver" "$demo/pkg/kernel/boot/vmlinuz-virt"
mods=$demo/pkg/kernel/lib/modules/$kver
mkdir -p "$mods/kernel/drivers" "$mods/kernel/fs"
for d in lib crypto arch block fs/btrfs drivers/block drivers/virtio drivers/scsi; do
	cp -a "$demo/debs/tree/lib/modules/$kver/kernel/$d" "$mods/kernel/$d"
done
cp "$demo/debs/tree/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$mods/"
mkpkg --name linux-virt --version 6.1.0-r0 --description "Debian's cloud kernel $kver (disk and btrfs modules)" \
	--license GPL-2.0-only -o "$demo/repo/x86_64/linux-virt-6.1.0-r0.apk" "$demo/pkg/kernel"
"$cairn" apk index --keys-dir "$demo/keys" -d "cairn demo repository" --rewrite-arch x86_64 \
	--sign-key "$demo/demo.rsa" --key-name demo.rsa.pub \
	-o "$demo/repo/x86_64/APKINDEX.tar.gz" "$demo"/repo/x86_64/*.apk
echo "$(ls "$demo/repo/x86_64" | grep -c '\.apk$') packages, index signed with a generated key"

# The examples expect repo/ and keys/ beside them.
mkdir -p "$demo/examples"
cp -r examples/offline examples/boot-demo "$demo/examples/"
for e in offline boot-demo; do ln -s ../../repo "$demo/examples/$e/repo"; ln -s ../../keys "$demo/examples/$e/keys"; done

step "build examples/offline twice into plain directories, and compare"
"$cairn" build -f "$demo/examples/offline/system.yaml" --root "$demo/root" --cache-dir "$demo/cache"
"$cairn" build --frozen -f "$demo/examples/offline/system.yaml" --root "$demo/root2" --cache-dir "$demo/cache" >/dev/null
list() { (cd "$1" && find . -printf '%p %M %U:%G %T@ %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
if diff <(list "$demo/root") <(list "$demo/root2") >/dev/null; then
	echo "identical: every path, mode, owner, time, size, link target and content"
else
	echo "the two builds differ:" >&2
	diff <(list "$demo/root") <(list "$demo/root2") | head -20 >&2
	exit 1
fi

step "a disk: MBR, ext4 /boot with extlinux, btrfs holding a cairn store"
disk=$demo/disk.img boot=$demo/mnt/boot top=$demo/mnt/top
mkdir -p "$boot" "$top"
truncate -s 1G "$disk"
printf 'label: dos\nstart=2048, size=131072, type=83, bootable\nstart=133120, type=83\n' | sfdisk -q "$disk"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
# Each partition through its own loop device, at its offset (works where
# the kernel does not scan loop devices for partitions, too).
attach() {
	local b r
	b=$(losetup -f --show -o $((2048 * 512)) --sizelimit $((131072 * 512)) "$disk"); loops+=("$b")
	r=$(losetup -f --show -o $((133120 * 512)) "$disk"); loops+=("$r")
	if [ "${1:-}" = new ]; then
		mkfs.ext4 -q -O ^64bit -L cairn-boot "$b"
		mkfs.btrfs -q -L cairn-demo "$r"
	fi
	mount "$b" "$boot"; mounts+=("$boot")
	mount -o subvolid=5 "$r" "$top"; mounts+=("$top")
}
detach() { cleanup; }
attach new
mkdir -p "$boot/extlinux"
extlinux --install "$boot/extlinux" 2>&1 | grep -v '^$' || true
"$cairn" init "$top"

bootvm() {
	echo "-- booting the disk in qemu (software emulation); console lines of interest:"
	detach
	"$cairn" vm "$disk" --no-reboot --memory 512 --expect 'reboot: Power down' --timeout 5m |
		grep --line-buffered -E 'cairn-init: (choosing|switching|nothing)|DEMO|  ok|  FAIL|failed|confirmed' || true
	attach
}

step "generation 1: build, boot entries, switch (a trial), boot"
"$cairn" build -f "$demo/examples/boot-demo/system.yaml" --store "$top"
"$cairn" boot setup --store "$top" --boot-dir "$boot" --loader extlinux --root LABEL=cairn-demo --serial
"$cairn" switch --store "$top" 1
bootvm
"$cairn" generations --store "$top"

step "generation 2: a new motd; build, switch, boot"
sed -i 's/Welcome to a system cairn built from a manifest./Welcome to generation two./' "$demo/examples/offline/system.yaml"
"$cairn" build -f "$demo/examples/boot-demo/system.yaml" --store "$top"
"$cairn" switch --store "$top" 2
bootvm
"$cairn" diff --store "$top" 1 2 || true

step "generation 3: a health check that fails; build, switch, boot twice"
cat > "$demo/examples/boot-demo/broken.yaml" <<'YAML'
apiVersion: cairn/v1
kind: System
include: [system.yaml]
health:
  - name: web
    command: wget -q -O /dev/null http://127.0.0.1:8080/
    timeout: 5s
YAML
"$cairn" build -f "$demo/examples/boot-demo/broken.yaml" --store "$top" --no-lock
"$cairn" switch --store "$top" 3
bootvm
echo "-- no command in between: boot again"
bootvm
"$cairn" status --store "$top"
"$cairn" generations --store "$top"
detach

step "the same system as a RAM image (diskless): kernel + one initramfs, booted in qemu"
"$cairn" image -f "$demo/examples/boot-demo/system.yaml" --format initramfs -o "$demo/ram" --force
"$cairn" image -f "$demo/examples/boot-demo/system.yaml" --format initramfs --explain --top 3
"$cairn" vm --kernel "$demo/ram/vmlinuz" --initrd "$demo/ram/initramfs.gz" --append "$(cat "$demo/ram/cmdline")" \
	--no-reboot --memory 512 --expect 'reboot: Power down' --timeout 5m |
	grep --line-buffered -E 'cairn-init: (starting|system moved)|DEMO' || true
echo
echo "done: demo/disk.img boots with 'sudo demo/bin/cairn vm demo/disk.img'; demo/ram/ holds the RAM image"
