#!/usr/bin/env bash
# Builds the guest images without root and without loop mounts (mke2fs -d, mkfs.erofs).
#
#   guest/rootfs/build.sh OUTDIR INIT AGENT
#
# OUTDIR/rootfs.ext4   vda: the root file system: busybox-static with its applet links,
#                      INIT at /init, AGENT at /opt/matchlock/guest-agent (the runtime's
#                      path), /etc (passwd with root and nobody, group, hosts, resolv.conf,
#                      hostname placeholders). When AGENT does not exist, the stand-in
#                      guest/rootfs/stub-agent.sh takes its place.
# OUTDIR/lower.erofs   an overlay lower holding the same tree (a complete root: the agent
#                      and busybox are there after init pivots into the overlay);
#                      /etc/flashpan-layer says "lower".
# OUTDIR/lower2.erofs  a second lower to put on top of it: /etc/flashpan-layer says
#                      "lower2", plus /etc/flashpan-lower2 (shows the layer order).
# OUTDIR/upper.ext4    an empty overlay upper: ext4 with upper/ and work/.
# OUTDIR/extra.ext4    an extra disk: ext4 with /flashpan-extra.
#
# Environment: BUSYBOX (default /bin/busybox, must be static), ROOTFS_SIZE (mke2fs size,
# default: the tree's size plus 24 MiB of room), UPPER_SIZE (64M), EXTRA_SIZE (16M).
set -euo pipefail
[ $# -eq 3 ] || { sed -n 's/^#   //p' "$0" >&2; exit 2; }
out=$1 init=$2 agent=$3
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
die() { echo "rootfs: $*" >&2; exit 1; }

[ -x "$init" ] || die "no init at $init (make guest)"
file -L "$init" | grep -q 'statically linked' || die "$init is not static"
file -L "$busybox" | grep -q 'statically linked' || die "$busybox is not static (apt-get install busybox-static)"
if [ ! -e "$agent" ]; then
	echo "rootfs: no agent at $agent yet: installing the stand-in guest/rootfs/stub-agent.sh" >&2
	agent=$here/stub-agent.sh
fi
for t in mke2fs mkfs.erofs debugfs; do
	command -v $t >/dev/null || die "$t not found (apt-get install e2fsprogs erofs-utils)"
done

mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ext4 from a folder. As non-root, mke2fs -d copies our uid into the image: give every
# inode to root afterwards with debugfs (set_inode_field), still without mounting.
mkext4() { # IMAGE SIZE LABEL [DIR]
	mke2fs -q -F -t ext4 -b 4096 -L "$3" -E root_owner=0:0 ${4:+-d "$4"} "$1" "$2" >/dev/null ||
		die "mke2fs $1"
	if [ -n "${4:-}" ] && [ "$(id -u)" != 0 ]; then
		(cd "$4" && find . -mindepth 1 -printf '%P\n') |
			awk '{ printf "sif \"/%s\" uid 0\nsif \"/%s\" gid 0\n", $0, $0 }' >"$tmp/owners"
		debugfs -w -f "$tmp/owners" "$1" >/dev/null 2>&1 || die "debugfs (owners) $1"
	fi
}

# ---- the root tree
R=$tmp/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,root,etc,mnt,opt/matchlock,var/tmp,home}
chmod 1777 "$R/tmp" "$R/var/tmp"
chmod 0700 "$R/root"
install -m 0755 "$busybox" "$R/bin/busybox"
for applet in $("$busybox" --list-full); do
	[ -e "$R/$applet" ] || [ -L "$R/$applet" ] || ln -s /bin/busybox "$R/$applet"
done
[ -e "$R/bin/sh" ] || ln -s /bin/busybox "$R/bin/sh"
install -m 0755 "$init" "$R/init"
install -m 0755 "$agent" "$R/opt/matchlock/guest-agent"
cat >"$R/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$R/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
nogroup:x:65534:
GROUP
# Placeholders: init rewrites these three from the command line at every boot.
echo "127.0.0.1 localhost" >"$R/etc/hosts"
echo "# written by the guest init from matchlock.dns" >"$R/etc/resolv.conf"
echo "flashpan" >"$R/etc/hostname"
chmod 0644 "$R"/etc/*

# ---- lower.erofs: the same tree, as the image an overlay root is made of
echo lower >"$R/etc/flashpan-layer"
mkfs.erofs --quiet --all-root "$tmp/lower.erofs" "$R" >/dev/null || die "mkfs.erofs lower.erofs"
# ---- lower2.erofs: a small layer on top
L2=$tmp/lower2
mkdir -p "$L2/etc"
echo lower2 >"$L2/etc/flashpan-layer"
echo "only in lower2" >"$L2/etc/flashpan-lower2"
mkfs.erofs --quiet --all-root "$tmp/lower2.erofs" "$L2" >/dev/null || die "mkfs.erofs lower2.erofs"

# ---- rootfs.ext4
echo rootfs >"$R/etc/flashpan-layer"
size=${ROOTFS_SIZE:-$(($(du -sm "$R" | cut -f1) + 24))M}
mkext4 "$tmp/rootfs.ext4" "$size" rootfs "$R"
# ---- upper.ext4 and extra.ext4
mkdir -p "$tmp/upper/upper" "$tmp/upper/work"
mkext4 "$tmp/upper.ext4" "${UPPER_SIZE:-64M}" upper "$tmp/upper"
mkdir -p "$tmp/extra"
echo "flashpan extra disk" >"$tmp/extra/flashpan-extra"
mkext4 "$tmp/extra.ext4" "${EXTRA_SIZE:-16M}" extra "$tmp/extra"

for f in rootfs.ext4 lower.erofs lower2.erofs upper.ext4 extra.ext4; do
	mv -f "$tmp/$f" "$out/$f"
done
echo "rootfs: $out: $(cd "$out" && ls -s --block-size=K rootfs.ext4 lower.erofs lower2.erofs upper.ext4 extra.ext4 |
	awk '{ printf "%s%s (%s used)", sep, $2, $1; sep = ", " }'); agent: $agent"
