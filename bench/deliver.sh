#!/usr/bin/env bash
# Bytes on the wire to deliver a generation, against rsync of the same
# trees and the full image (internal/deliver TestRealAlpineDelivery):
# the real Alpine 3.19 system of the e2e tests (alpine-base, OpenSSH,
# chrony, doas, Debian's kernel as linux-virt) built by cairn build on a
# btrfs store, then again with one small package more (iw); generation 1
# and then generation 2 delivered to an empty btrfs node (incremental
# send stream) and to an empty plain node (only the files it lacks);
# rsync -aHAX of generation 1 then generation 2 into one directory, with
# and without -z. Needs root (loop devices, btrfs) and Debian's rsync,
# which the test installs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CI=${CI:-true} go test -count=1 -timeout 1800s -run '^TestRealAlpineDelivery$' -v ./internal/deliver/ |
	grep -E 'generation 2: [0-9]+ entries|BENCH|^(---|ok|FAIL)' | sed 's/^ *//'
