#!/usr/bin/env bash
# Build (or find in the cache) the nested test VM's kernel and base initramfs.
#
#   tests/vm/prepare.sh          resolve the kernel package behind linux-image-cloud-amd64 with
#                                apt-cache, download and extract it if not cached, build the base
#                                initramfs (busybox-static + irqbypass.ko, kvm.ko, kvm-amd.ko).
#   tests/vm/prepare.sh --quick  use the image the last full run selected (no apt-cache call)
#                                if it is complete; otherwise behave like the full run.
#
# Prints the image directory (holding vmlinuz and base.cpio) as the only line on stdout;
# progress goes to stderr. Idempotent, non-interactive, safe to run concurrently (flock).
#
# Environment:
#   FLASHPAN_CACHE          cache root (default /var/cache/flashpan); this script uses $FLASHPAN_CACHE/vm
#   FLASHPAN_VM_KERNEL_PKG  concrete kernel package (default: what linux-image-cloud-amd64 depends on)
#   BUSYBOX                 static busybox binary (default /bin/busybox, from busybox-static)
set -euo pipefail

CACHE_ROOT=${FLASHPAN_CACHE:-/var/cache/flashpan}
VMCACHE=$CACHE_ROOT/vm
BUSYBOX=${BUSYBOX:-/bin/busybox}
META_PKG=linux-image-cloud-amd64
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1

say() { echo "vm-image: $*" >&2; }
die() { echo "vm-image: error: $*" >&2; exit 1; }

command -v cpio >/dev/null || die "cpio missing (apt-get install cpio, or make deps)"
command -v dpkg-deb >/dev/null || die "dpkg-deb missing (this needs a Debian host)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static, or make deps)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	die "$BUSYBOX is not statically linked (install busybox-static)"

BB_SUM=$(sha256sum "$BUSYBOX" | cut -d' ' -f1)
# What the base image depends on besides the kernel package: busybox and this script's layout.
LAYOUT=3
want_stamp() { printf 'pkg=%s\nversion=%s\nbusybox=%s\nlayout=%s\n' "$1" "$2" "$BB_SUM" "$LAYOUT"; }

image_ok() { # dir -> true if complete and built from the current busybox/layout
	local d=$1
	[ -f "$d/stamp" ] && [ -f "$d/vmlinuz" ] && [ -f "$d/base.cpio" ] || return 1
	local pkg ver
	pkg=$(sed -n 's/^pkg=//p' "$d/stamp"); ver=$(sed -n 's/^version=//p' "$d/stamp")
	[ "$(want_stamp "$pkg" "$ver")" = "$(cat "$d/stamp")" ]
}

if [ $QUICK = 1 ] && [ -L "$VMCACHE/current" ] && image_ok "$VMCACHE/current"; then
	readlink -f "$VMCACHE/current"
	exit 0
fi

mkdir -p "$VMCACHE" 2>/dev/null || die "cannot create $VMCACHE (set FLASHPAN_CACHE to a writable directory)"
[ -w "$VMCACHE" ] || die "$VMCACHE is not writable (set FLASHPAN_CACHE to a writable directory)"

exec 9>"$VMCACHE/.lock"
flock 9

# Resolve the concrete kernel package and its version.
PKG=${FLASHPAN_VM_KERNEL_PKG:-}
if [ -z "$PKG" ]; then
	PKG=$(apt-cache depends "$META_PKG" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1) || true
fi
VER=
[ -n "$PKG" ] && VER=$(apt-cache show --no-all-versions "$PKG" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
if [ -z "$PKG" ] || [ -z "$VER" ]; then
	# No apt metadata (offline, no apt-get update): fall back to what is cached.
	if [ -L "$VMCACHE/current" ] && image_ok "$VMCACHE/current"; then
		say "apt-cache cannot resolve $META_PKG; using the cached $(basename "$(readlink -f "$VMCACHE/current")")"
		readlink -f "$VMCACHE/current"
		exit 0
	fi
	die "cannot resolve the kernel package behind $META_PKG (run apt-get update?)"
fi

KEY=${PKG}_${VER//[:\/]/_}
DIR=$VMCACHE/$KEY
if image_ok "$DIR"; then
	ln -sfn "$KEY" "$VMCACHE/current"
	echo "$DIR"
	exit 0
fi

say "building $DIR"
mkdir -p "$VMCACHE/debs"
DEB=$(ls "$VMCACHE/debs/${PKG}_${VER//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$DEB" ]; then
	say "downloading $PKG $VER"
	dl=$(mktemp -d "$VMCACHE/debs/.dl.XXXXXX")
	# apt-get drops to the _apt user to download: let it write here (else it warns, "unsandboxed")
	[ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1 && chown _apt "$dl"
	(cd "$dl" && apt-get download -q "$PKG=$VER" >&2) || { rm -rf "$dl"; die "apt-get download $PKG=$VER failed"; }
	f=$(ls "$dl"/*.deb | head -n1)
	mv "$f" "$VMCACHE/debs/"
	rm -rf "$dl"
	DEB=$VMCACHE/debs/$(basename "$f")
fi

TMP=$(mktemp -d "$VMCACHE/.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
say "extracting $(basename "$DEB")"
dpkg-deb -x "$DEB" "$TMP/x"
KREL=$(ls "$TMP/x/lib/modules" | head -n1)
[ -n "$KREL" ] || die "no lib/modules in $DEB"
VMLINUZ=$(ls "$TMP/x/boot/vmlinuz-"* 2>/dev/null | head -n1)
[ -n "$VMLINUZ" ] || die "no boot/vmlinuz-* in $DEB"

R=$TMP/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,mnt,lib/modules,payload,etc}
cp "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
# Modules, in load order. Decompress if the kernel package ships them compressed
# (busybox insmod only loads plain .ko files).
M=$TMP/x/lib/modules/$KREL/kernel
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd arch/x86/kvm/kvm-intel; do
	name=$(basename "$m")
	if [ -f "$M/$m.ko" ]; then cp "$M/$m.ko" "$R/lib/modules/$name.ko"
	elif [ -f "$M/$m.ko.xz" ]; then xz -dc "$M/$m.ko.xz" >"$R/lib/modules/$name.ko"
	elif [ -f "$M/$m.ko.zst" ]; then zstd -qdc "$M/$m.ko.zst" >"$R/lib/modules/$name.ko"
	elif [ -f "$M/$m.ko.gz" ]; then gzip -dc "$M/$m.ko.gz" >"$R/lib/modules/$name.ko"
	else die "module $m not found in $DEB"
	fi
done
echo "$KREL" >"$R/etc/flashpan-vm-kernel"
# /dev/console lets the kernel give /init a console before devtmpfs is mounted (needs root;
# /init also reopens its stdio on the devtmpfs console, so this is optional).
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$TMP/base.cpio"

mkdir -p "$TMP/out"
cp "$VMLINUZ" "$TMP/out/vmlinuz"
cp "$TMP/x/boot/config-$KREL" "$TMP/out/config" 2>/dev/null || true
mv "$TMP/base.cpio" "$TMP/out/base.cpio"
want_stamp "$PKG" "$VER" >"$TMP/out/stamp"
rm -rf "$DIR"
mv "$TMP/out" "$DIR"
ln -sfn "$KEY" "$VMCACHE/current"
say "ready: $DIR (kernel $KREL, base initramfs $(du -h "$DIR/base.cpio" | cut -f1))"
echo "$DIR"
