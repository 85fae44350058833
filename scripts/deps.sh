#!/usr/bin/env bash
# Install every system package flashpan needs to build, test and benchmark.
# Idempotent and non-interactive; skips apt-get when everything is present.
set -euo pipefail
pkgs=(
	build-essential clang lld make pkg-config
	liburing-dev libcmocka-dev libjansson-dev libseccomp-dev python3
	busybox-static e2fsprogs erofs-utils cpio xz-utils zstd kmod
	qemu-system-x86 socat hyperfine fio
	linux-source-6.1 bc flex bison libelf-dev libssl-dev
	libclang-rt-14-dev
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
