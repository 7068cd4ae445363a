# Sourced by demo.sh and test.sh: installs what cairn's build, demo and
# tests need on a Debian machine (as root), and puts Go on PATH.
# Set CAIRN_SKIP_SETUP=1 to skip the apt-get step on a prepared machine.

cairn_setup() {
	if [ "${CAIRN_SKIP_SETUP:-}" != 1 ]; then
		if [ "$(id -u)" != 0 ]; then
			echo "setup: run as root (apt-get, loop devices and chroots need it), or set CAIRN_SKIP_SETUP=1" >&2
			return 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# busybox-static: a shell for package scripts in test roots;
		# openssl: the demo's signing key; btrfs-progs: mkfs.btrfs for
		# the store's tests (and the btrfs command they cross-check with);
		# qemu-system-x86, cpio, extlinux, fdisk: the boot tests and the
		# demo;
		# skopeo, podman, runc: the OCI image tests;
		# systemd-boot-efi: the UEFI loader cairn image --format disk and
		# cairn install put on a disk (from the build host unless the
		# system carries it); zstd: the tar tests extract with tar --zstd;
		# syslinux, mtools: the BIOS loader of disk images and reading
		# their ESP; openssh-client: the demo logs in to its machine;
		# age: the secrets tests check that age reads what cairn writes.
		apt-get install -y -qq --no-install-recommends \
			ca-certificates git openssl busybox-static time btrfs-progs \
			qemu-system-x86 cpio extlinux syslinux-common e2fsprogs fdisk \
			skopeo podman runc systemd-boot-efi zstd mtools syslinux \
			openssh-client age >/dev/null
	fi

	# Go: the machine's /usr/local/go, or a toolchain from the Go module
	# proxy bootstrapped with Debian's older Go.
	if [ -x /usr/local/go/bin/go ]; then
		export PATH=/usr/local/go/bin:$PATH
	fi
	local need have tc gobin
	need=$(sed -n 's/^go \([0-9.]*\).*/\1/p' go.mod)
	have=$(go env GOVERSION 2>/dev/null | sed 's/^go//' || true)
	if [ -z "$have" ] || [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
		apt-get install -y -qq golang-1.19-go >/dev/null
		gobin=/usr/lib/go-1.19/bin/go
		tc=golang.org/toolchain@v0.0.1-go${need}.linux-amd64
		(cd / && GOFLAGS=-modcacherw GO111MODULE=on "$gobin" mod download "$tc")
		export PATH="$("$gobin" env GOMODCACHE)/$tc/bin:$PATH"
	fi
	go version >&2
}
