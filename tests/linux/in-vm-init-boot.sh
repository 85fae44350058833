#!/bin/sh
# The guest init's boots (tests/linux/init-boot.sh): runs inside the nested test VM
# (busybox ash, cwd /payload: flashpan-static, vmlinux and the images), or on the host
# with VMM=qemu (QEMU microvm, TCG).
#
# Each case boots the guest kernel with the images of guest/rootfs/build.sh (the stub
# agent in place of the agent) and a command line in the guest contract's form, and
# leaves its console in $OUT/<case>.log and the VMM's exit status in $OUT/<case>.rc.
# The writable images are copied first (a boot changes them); the overlay case leaves
# its upper and extra disks in $OUT for the host to read with debugfs.
# CASES (default all): nonet overlay net fatal-nodns fatal-reldisk ("net" needs a NIC:
# QEMU only for now).
VMM=${VMM:-flashpan}
OUT=${OUT:-/out}
KERNEL=${KERNEL:-vmlinux}
CASES=${CASES:-nonet overlay net fatal-nodns fatal-reldisk}
mkdir -p "$OUT" run

base="console=ttyS0 reboot=k panic=1 acpi=off init=/init"
nonet="ip=off matchlock.no_network=1"
tail_="root=/dev/vda rw"

boot() { # CASE NIC(0|1) CMDLINE DISK... (DISK: image file in run/, ",ro" suffix for read-only)
	name=$1 nic=$2 cmdline="$3 $tail_"
	shift 3
	log=$OUT/$name.log
	rm -f "$log"
	if [ "$VMM" = qemu ]; then
		set -- $(i=0; for d in "$@"; do
			f=${d%,ro} ro=
			[ "$f" != "$d" ] && ro=,readonly=on
			echo "-drive id=d$i,file=run/$f,format=raw,if=none$ro -device virtio-blk-device,drive=d$i"
			i=$((i + 1))
		done)
		[ "$nic" = 1 ] && set -- "$@" -netdev hubport,id=n0,hubid=0 -device virtio-net-device,netdev=n0
		# -no-reboot: the guest's reset (the stub agent's reboot -f, or panic=1) ends QEMU.
		timeout 120 qemu-system-x86_64 -M microvm,acpi=off -accel tcg -m 256 -smp 2 -nodefaults \
			-display none -serial "file:$log" -no-reboot -kernel "$KERNEL" \
			-global virtio-mmio.force-legacy=false -append "$cmdline" "$@" </dev/null >"$OUT/$name.err" 2>&1
	else
		set -- $(for d in "$@"; do echo "--disk run/$d"; done)
		timeout 180 ./flashpan-static run --kernel "$KERNEL" --mem 256 --cpus 2 \
			--cmdline "$cmdline" --console "$log" "$@" </dev/null 2>"$OUT/$name.err"
	fi
	echo $? >"$OUT/$name.rc"
	echo "init-boot: $name done ($VMM exit $(cat "$OUT/$name.rc"))"
}

fresh() { # copies the pristine images the next boot writes to
	for f in "$@"; do cp "$f" "run/$f"; done
}

for c in $CASES; do
	case $c in
	nonet)
		fresh rootfs.ext4
		boot nonet 0 "$base hostname=sb-nonet matchlock.workspace=/workspace matchlock.dns=8.8.8.8,8.8.4.4 $nonet matchlock.cpus=0.5 matchlock.add_host.0=api.local,10.0.0.5 matchlock.add_host.1=db6,fd00::2" \
			rootfs.ext4
		;;
	overlay)
		# vda rootfs, vdb+vdc lowers (erofs, ro), vdd upper, vde extra ro, vdf extra rw
		fresh rootfs.ext4 lower.erofs lower2.erofs upper.ext4 extra-ro.ext4 extra-rw.ext4
		boot overlay 0 "$base hostname=sb-overlay matchlock.workspace=/workspace matchlock.dns=8.8.8.8 $nonet matchlock.privileged=1 matchlock.cpus=2.25 matchlock.overlay=1 matchlock.overlay.lower=vdb,vdc matchlock.overlay.lowerfs=erofs,erofs matchlock.overlay.upper=vdd matchlock.disk.vde=/data/ro,ro matchlock.disk.vdf=/scratch" \
			rootfs.ext4 lower.erofs,ro lower2.erofs,ro upper.ext4 extra-ro.ext4,ro extra-rw.ext4
		cp run/upper.ext4 run/extra-ro.ext4 run/extra-rw.ext4 "$OUT/"
		;;
	net)
		fresh rootfs.ext4
		boot net 1 "$base hostname=sb-net matchlock.workspace=/workspace matchlock.dns=1.1.1.1,8.8.8.8,9.9.9.9 ip=192.168.100.2::192.168.100.1:255.255.255.0::eth0:off:1.1.1.1:8.8.8.8 matchlock.mtu=1400 matchlock.privileged=1 matchlock.cpus=1" \
			rootfs.ext4
		;;
	fatal-nodns)
		fresh rootfs.ext4
		boot fatal-nodns 0 "$base hostname=sb $nonet matchlock.cpus=1" rootfs.ext4
		;;
	fatal-reldisk)
		fresh rootfs.ext4 extra-rw.ext4
		boot fatal-reldisk 0 "$base hostname=sb matchlock.dns=8.8.8.8 $nonet matchlock.cpus=1 matchlock.disk.vdb=data" \
			rootfs.ext4 extra-rw.ext4
		;;
	*) echo "init-boot: unknown case $c" ;;
	esac
done
exit 0
