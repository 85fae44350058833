#!/bin/bash
# Build flashpan's guest kernel from Debian's linux-source-6.1 package.
#
#   guest/kernel/build.sh           build (or reuse) the kernel, print the paths
#   guest/kernel/build.sh --key     print the cache key only
#   guest/kernel/build.sh --dir     print the cache dir of the current build only
#
# The result lives outside the repository, in
#   ${FLASHPAN_CACHE:-/var/cache/flashpan}/kernel/<key>/{vmlinux,bzImage,config,System.map}
# where <key> = first 16 hex digits of sha256(fragment + linux-source version + this script).
# Any change to one of the three gives a new key, hence a fresh build; an existing
# vmlinux under the key means nothing is rebuilt.
#
# Recipe: make tinyconfig, merge flashpan.config (merge_config.sh -m), make olddefconfig,
# then check that every option the fragment names survived olddefconfig (a missing
# dependency makes Kconfig drop an option silently), then build vmlinux and bzImage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment="$here/flashpan.config"
self="$here/build.sh"
pkg=linux-source-6.1
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${FLASHPAN_CACHE:-/var/cache/flashpan}

version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || {
	echo "build.sh: package $pkg is not installed (make deps)" >&2
	exit 1
}
key=$({ cat "$fragment"; printf '%s\n' "$version"; cat "$self"; } | sha256sum | cut -c1-16)
out="$cache/kernel/$key"

case "${1:-}" in
--key) echo "$key"; exit 0 ;;
--dir) echo "$out"; exit 0 ;;
"") ;;
*) echo "usage: $0 [--key|--dir]" >&2; exit 2 ;;
esac

print_paths() {
	echo "kernel key:  $key (linux-source $version)"
	echo "vmlinux:     $out/vmlinux ($(stat -c %s "$out/vmlinux") bytes)"
	echo "bzImage:     $out/bzImage ($(stat -c %s "$out/bzImage") bytes)"
	echo "config:      $out/config"
}

if [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
	print_paths
	exit 0
fi

start=$(date +%s)
builddir="$cache/build"
src="$builddir/linux-source-$version"
obj="$builddir/obj-$key"
mkdir -p "$builddir" "$cache/kernel"

# One build at a time per cache: engineers share this machine and its cache.
exec 9>"$builddir/.lock"
flock 9
if [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
	print_paths	# someone else built it while we waited
	exit 0
fi

# The pristine source tree, extracted once per package version; builds are out of tree (O=).
if [ ! -f "$src/.flashpan-extracted" ]; then
	echo "extracting $tarball into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.flashpan-extracted"
	mv "$src.tmp" "$src"
fi

kmake() { make -C "$src" O="$obj" ARCH=x86_64 "$@"; }

rm -rf "$obj"
mkdir -p "$obj"
# ARCH=x86_64 matters: with ARCH=x86, tinyconfig (allnoconfig based) would pick a 32-bit kernel.
# The config steps are chatty (and warn about every choice the fragment overrides, which
# is expected): keep their output in a log, show it only when a step fails.
log="$obj/kconfig.log"
if ! { kmake tinyconfig &&
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$fragment") &&
	kmake olddefconfig; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "build.sh: configuring the kernel failed" >&2
	exit 1
fi

# Every option the fragment sets must come out of olddefconfig with the same value.
bad=0
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
		opt=${BASH_REMATCH[1]} want=n
	else
		continue
	fi
	got=$(sed -n "s/^$opt=\(.*\)$/\1/p" "$obj/.config")
	[ -n "$got" ] || got=n
	if [ "$got" != "$want" ]; then
		echo "build.sh: $opt: fragment wants $want, olddefconfig gave $got" >&2
		bad=1
	fi
done <"$fragment"
if [ "$bad" != 0 ]; then
	echo "build.sh: the config fragment did not survive olddefconfig (missing dependency?)" >&2
	exit 1
fi
echo "config check: every option of $(basename "$fragment") is set as asked"

kmake -j"$(nproc)" vmlinux bzImage

# Publish atomically: readers only ever see a complete directory.
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$obj/vmlinux" "$tmp/vmlinux"
cp "$obj/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$obj/.config" "$tmp/config"
cp "$obj/System.map" "$tmp/System.map"
rm -rf "$out"
mv "$tmp" "$out"
rm -rf "$obj"

print_paths
echo "built in $(( $(date +%s) - start )) s"
