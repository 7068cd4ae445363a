#!/usr/bin/env bash
# cairn's main job, offline: a real Alpine 3.19 machine built from a
# manifest into generations on a bootable disk, booted, logged into over
# ssh, updated, and watched falling back by itself from a bad update.
#
#  1. build cairn and cairn-init (static);
#  2. a signed local repository holding Debian's cloud kernel packaged as
#     linux-virt (the only part that is not Alpine's); everything else
#     comes from the 100 Alpine-signed packages of the Alpine 3.19.1
#     standard ISO in ../shared/fixtures;
#  3. build examples/demo (alpine-base, OpenSSH, chrony, doas) twice into
#     plain directories: identical trees;
#  4. a disk (MBR, ext4 /boot with extlinux, btrfs holding a cairn store);
#     generation 1 boots as a trial under qemu: a login prompt on the
#     serial console, OpenRC starting every service, alice logging in over
#     ssh with her key through a forwarded port, the trial confirmed;
#  5. generation 2 adds a package and changes a configuration file; it
#     boots, is confirmed, and cairn diff shows both;
#  6. generation 3 fails its health check: it boots once, is not
#     confirmed, and the next boot is generation 2 again with no command in
#     between;
#  7. the same system as a RAM image (kernel + one initramfs, a diskless
#     node) boots from RAM with OpenRC and sshd.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
cairn_setup

fixtures=$(cd ../shared/fixtures/alpine-v3.19 && pwd)
demo=$PWD/demo
step() { printf '\n== %s\n' "$*"; }
say() { printf -- '-- %s\n' "$*"; }

# Whatever happens, leave no mount, loop device or machine behind.
mounts=() loops=() vmpid=
cleanup() {
	local m l
	[ -z "$vmpid" ] || kill "$vmpid" 2>/dev/null || true
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	mounts=() loops=()
}
trap cleanup EXIT

rm -rf "$demo"
mkdir -p "$demo/repo/x86_64" "$demo/bin" "$demo/pkg/kernel/boot" "$demo/debs"

step "build cairn and cairn-init (static)"
for c in cairn cairn-init; do
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$demo/bin/$c" "./cmd/$c"
done
cairn=$demo/bin/cairn
export SOURCE_DATE_EPOCH=1706291505

step "the packages: Alpine's ISO as it is, and Debian's cloud kernel as linux-virt"
sys=$demo/system
mkdir -p "$sys/keys"
openssl genrsa -out "$demo/demo.rsa" 2048 2>/dev/null
openssl rsa -in "$demo/demo.rsa" -pubout -out "$sys/keys/demo.rsa.pub" 2>/dev/null
cp "$fixtures"/keys/*.rsa.pub "$sys/keys/"
kpkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-.*-cloud-amd64\)$/\1/p' | head -n1)
(cd "$demo/debs" && apt-get download -q "$kpkg" >/dev/null)
dpkg-deb -x "$demo"/debs/*.deb "$demo/debs/tree"
kver=${kpkg#linux-image-}
kmods=$demo/debs/tree/lib/modules/$kver
cp "$demo/debs/tree/boot/vmlinuz-$kver" "$demo/pkg/kernel/boot/vmlinuz-virt"
mods=$demo/pkg/kernel/lib/modules/$kver
# What a virtual machine needs: its disk and network, btrfs for the
# store, FAT for an EFI system partition.
for m in lib crypto arch block fs/btrfs fs/fat fs/nls drivers/block drivers/virtio drivers/scsi \
	drivers/net/virtio_net.ko drivers/net/net_failover.ko net/core/failover.ko; do
	mkdir -p "$(dirname "$mods/kernel/$m")"
	cp -a "$kmods/kernel/$m" "$mods/kernel/$m"
done
cp "$kmods"/modules.{builtin,builtin.modinfo,order} "$mods/"
"$cairn" apk mkpkg --arch x86_64 --sign-key "$demo/demo.rsa" --key-name demo.rsa.pub \
	--name linux-virt --version 6.1.0-r0 --description "Debian's cloud kernel $kver" --license GPL-2.0-only \
	-o "$demo/repo/x86_64/linux-virt-6.1.0-r0.apk" "$demo/pkg/kernel"
"$cairn" apk index --keys-dir "$sys/keys" -d "cairn demo kernel" --sign-key "$demo/demo.rsa" --key-name demo.rsa.pub \
	-o "$demo/repo/x86_64/APKINDEX.tar.gz" "$demo"/repo/x86_64/*.apk
echo "$(ls "$fixtures/iso/x86_64" | grep -c '\.apk$') Alpine packages (signed by Alpine) and linux-virt (signed by a key made now)"

# The example expects iso/, repo/ and keys/ beside it, and alice's key.
ssh-keygen -q -t ed25519 -N '' -C alice@demo -f "$demo/id_ed25519"
cp examples/demo/system.yaml "$sys/"
ln -s "$fixtures/iso" "$sys/iso"
ln -s ../repo "$sys/repo"
sed -i "s|ssh-ed25519 DEMO-KEY-PLACEHOLDER alice@demo|$(cat "$demo/id_ed25519.pub")|" "$sys/system.yaml"

step "build the system twice into plain directories, and compare"
"$cairn" build -f "$sys/system.yaml" --root "$demo/root" --cache-dir "$demo/cache" | tail -n 2
"$cairn" build --frozen -f "$sys/system.yaml" --root "$demo/root2" --cache-dir "$demo/cache" >/dev/null
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
truncate -s 2G "$disk"
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
		mkfs.btrfs -q -L cairn-demo "$r" >/dev/null
	fi
	mount "$b" "$boot"; mounts+=("$boot")
	mount -o subvolid=5 "$r" "$top"; mounts+=("$top")
}
detach() { cleanup; }
attach new
mkdir -p "$boot/extlinux"
extlinux --install "$boot/extlinux" >/dev/null 2>&1
"$cairn" init "$top"

# The machine: qemu through cairn vm, sshd forwarded to a local port.
port=2222
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
sshcmd=(ssh -q -p "$port" -i "$demo/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20)
console=$demo/console.log
# start_vm ARGS: boots the machine in the background, its console in
# $console; waits for the serial console's login prompt (or for the
# machine to end).
start_vm() {
	: >"$console"
	"$cairn" vm --memory 768 --no-reboot --forward "$port:22" "$@" >"$console" 2>&1 &
	vmpid=$!
	local waited=0
	until grep -q 'login: ' "$console"; do
		if ! kill -0 "$vmpid" 2>/dev/null; then echo "the machine stopped before its login prompt:" >&2; tail -30 "$console" >&2; exit 1; fi
		if [ $waited -ge 600 ]; then echo "no login prompt after 10 minutes:" >&2; tail -30 "$console" >&2; exit 1; fi
		sleep 1; waited=$((waited + 1))
	done
}
# show_boot: what the console said, the interesting lines.
show_boot() {
	echo "-- the serial console (OpenRC's lines and cairn's):"
	grep -a -E 'cairn-init: (choosing|a getty|switching)|^ \* .*\[ (ok|!!) \]|\[ !! \]|kernel/hotplug|ERROR|  ok  |  FAIL  |confirmed|not confirmed|warning|login: ' "$console" |
		sed -e 's/\r//g' -e 's/^/   | /'
	if grep -q 'kernel/hotplug' "$console"; then
		say "the one [ !! ] above is known: busybox mdev's init script writes /proc/sys/kernel/hotplug,"
		say "which Debian's kernel lacks (no CONFIG_UEVENT_HELPER); Alpine's own kernels have it"
	fi
}
# on_node CMD: runs CMD on the machine as alice, over ssh.
on_node() {
	printf -- '-- alice@demo$ %s\n' "$*"
	"${sshcmd[@]}" alice@127.0.0.1 "$@" | sed 's/^/   /'
}
# stop_vm: powers the machine off from inside and waits for it.
stop_vm() {
	"${sshcmd[@]}" alice@127.0.0.1 doas poweroff || true
	wait "$vmpid" || true
	vmpid=
}
bootvm() {
	say "booting the disk in qemu (software emulation: about a minute)"
	detach
	start_vm "$disk"
	show_boot
}

step "generation 1: build, boot entries, switch (a trial), boot"
"$cairn" build -f "$sys/system.yaml" --store "$top" --cache-dir "$demo/cache" | tail -n 1
"$cairn" boot setup --store "$top" --boot-dir "$boot" --loader extlinux --root LABEL=cairn-demo --serial
"$cairn" switch --store "$top" 1
bootvm
on_node 'cat /etc/motd; id'
on_node doas cairn status
stop_vm
attach
"$cairn" generations --store "$top"

step "generation 2: one package more (e2fsprogs) and a changed /etc/chrony/chrony.conf"
cat >"$sys/gen2.yaml" <<'YAML'
apiVersion: cairn/v1
kind: System
include: [system.yaml]
description: real Alpine 3.19, generation two
packages: [e2fsprogs]
files:
  inline:
    - path: /etc/chrony/chrony.conf
      content: |
        # generation two: a pool of our own, and step the clock at boot
        pool pool.ntp.org iburst
        makestep 1.0 3
        rtcsync
YAML
"$cairn" build -f "$sys/gen2.yaml" --store "$top" --cache-dir "$demo/cache" | tail -n 1
"$cairn" switch --store "$top" 2
bootvm
on_node 'doas cairn status; mke2fs -V 2>&1 | head -n1; head -n1 /etc/chrony/chrony.conf'
stop_vm
attach
"$cairn" diff --store "$top" 1 2

step "generation 3: a health check that fails; build, switch, boot twice"
cat >"$sys/broken.yaml" <<'YAML'
apiVersion: cairn/v1
kind: System
include: [system.yaml]
description: real Alpine 3.19, generation three (broken)
health:
  - name: web
    command: wget -q -O /dev/null http://127.0.0.1:8080/
    timeout: 5s
YAML
"$cairn" build -f "$sys/broken.yaml" --store "$top" --no-lock --cache-dir "$demo/cache" | tail -n 1
"$cairn" switch --store "$top" 3
bootvm
stop_vm
say "no command in between: boot again"
start_vm "$disk"
show_boot
on_node doas cairn status
stop_vm
attach
"$cairn" generations --store "$top"
detach

step "the same system as a RAM image (diskless): kernel + one initramfs, booted in qemu"
"$cairn" image -f "$sys/system.yaml" --format initramfs -o "$demo/ram" --force --cache-dir "$demo/cache"
"$cairn" image -f "$sys/system.yaml" --format initramfs --explain --top 3 --cache-dir "$demo/cache"
start_vm --kernel "$demo/ram/vmlinuz" --initrd "$demo/ram/initramfs.gz" --append "$(cat "$demo/ram/cmdline")"
grep -a -E 'cairn-init: (starting|system moved)' "$console" | sed 's/^/   | /'
show_boot
on_node 'awk '"'"'$2 == "/" {print "/ is a " $3}'"'"' /proc/mounts; rc-service sshd status'
stop_vm
echo
echo "done: demo/disk.img boots with 'sudo demo/bin/cairn vm demo/disk.img --forward 2222:22'"
echo "      (log in as alice: ssh -p 2222 -i demo/id_ed25519 alice@127.0.0.1); demo/ram/ holds the RAM image"
