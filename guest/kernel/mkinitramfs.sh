#!/bin/bash
# Make a small busybox initramfs (gzip'd newc cpio); no root needed.
#
#   mkinitramfs.sh OUTPUT.cpio.gz INIT [SRC[:DEST] ...]
#
# INIT becomes /init (mode 0755). The archive holds a static busybox at /bin/busybox with
# a symlink per applet in /bin (sh, mount, reboot, ...), /sbin and /usr/bin pointing at
# /bin, and the usual empty mount points. Each extra SRC is copied to DEST inside the
# archive (default /bin/<name of SRC>), keeping its mode; a SRC folder is copied whole.
#
# No /dev/console node is added (mknod needs root): the kernel's built-in initramfs
# (usr/default_cpio_list, linked in when CONFIG_INITRAMFS_SOURCE is empty) already holds
# /dev/console, and ours is unpacked on top of it. devtmpfs is NOT mounted automatically
# for an initramfs (CONFIG_DEVTMPFS_MOUNT only acts on a disk root), so /init mounts it.
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 OUTPUT.cpio.gz INIT [SRC[:DEST] ...]" >&2
	exit 2
fi
output=$1 init=$2
shift 2
busybox=${BUSYBOX:-/bin/busybox}

if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	echo "mkinitramfs.sh: $busybox is not a static binary (apt-get install busybox-static)" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,mnt,root,etc,usr}
chmod 1777 "$root/tmp"
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cp "$init" "$root/init"
chmod 0755 "$root/init"

for spec in "$@"; do
	src=${spec%%:*}
	if [ "$src" = "$spec" ]; then
		dest=/bin/$(basename "$src")
	else
		dest=${spec#*:}
	fi
	mkdir -p "$root$(dirname "$dest")"
	cp -a "$src" "$root$dest"
done

# Sorted names and fixed owners: the same inputs give the same archive bytes
# except for file times.
tmp="$output.tmp.$$"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc --owner=0:0 --reproducible) | gzip -9 -n >"$tmp"
mv "$tmp" "$output"
