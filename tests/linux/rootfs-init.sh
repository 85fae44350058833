#!/bin/sh
# /init of the rootfs image (vda) of the disk test (tests/linux/disks.sh). Runs in the
# guest (busybox ash) as init=/init with root=/dev/vda rw rootfstype=ext4.
#
# Disks, in the guest contract's order: vda rootfs (rw), vdb erofs overlay lower (ro),
# vdc ext4 overlay upper (rw), vdd extra ext4 (ro), vde extra ext4 (rw).
# /etc/disks-expect (written by disks.sh) holds the expected sizes, serials and the run's
# nonce. "disks.boot=1" on the command line: check everything, write to the upper and to
# vde; "disks.boot=2": read back what boot 1 wrote, add a second file to vde.
# Prints "DISKS-CHECK <name> ok" or "DISKS-CHECK <name> FAIL <why>" per check, then
# "DISKS-DONE boot=N ok=X fail=Y", and resets (reboot -f; reboot=k on the command line).
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null # CONFIG_DEVTMPFS_MOUNT usually did it already
mount -t proc proc /proc
# Kernel messages off the console from here: with 2 vCPUs a printk (e.g. "drop_caches: 3" from the
# other CPU) lands in the middle of a DISKS-CHECK line still draining through the UART.
echo 1 >/proc/sys/kernel/printk
mount -t sysfs sys /sys
. /etc/disks-expect

boot=$(sed -n 's/.*disks\.boot=\([0-9]*\).*/\1/p' /proc/cmdline)
ok=0 fail=0
check() { # NAME COMMAND...: runs COMMAND, prints one DISKS-CHECK line
	name=$1
	shift
	why=$("$@" 2>&1)
	if [ $? -eq 0 ]; then
		echo "DISKS-CHECK $name ok"
		ok=$((ok + 1))
	else
		echo "DISKS-CHECK $name FAIL $(echo "$why" | tr '\n' ' ' | cut -c1-300)"
		fail=$((fail + 1))
	fi
}
want() { # DESCRIPTION GOT WANT
	[ "$2" = "$3" ] && return 0
	echo "$1: got '$2', want '$3'"
	return 1
}
finish() {
	echo "DISKS-DONE boot=$boot ok=$ok fail=$fail"
	sync
	reboot -f
	sleep 10
	echo "DISKS-ERROR reboot -f returned"
}

# --- The root file system: ext4 on vda, read-write. ---
root_ok() {
	line=$(awk '$2 == "/" && $1 != "rootfs" { l = $0 } END { print l }' /proc/mounts)
	want "/ in /proc/mounts fs type" "$(echo "$line" | cut -d' ' -f3)" ext4 || return 1
	case " $(echo "$line" | cut -d' ' -f4 | tr ',' ' ') " in *" rw "*) ;; *) echo "/ is not rw: $line"; return 1 ;; esac
	want "root device" "$(sed -n 's/^DEVNAME=//p' /sys/dev/block/$(awk '$5 == "/" { d = $3 } END { print d }' /proc/self/mountinfo)/uevent 2>&1)" vda || return 1
	want "/etc/rootfs-marker" "$(cat /etc/rootfs-marker)" "ROOTFS $NONCE"
}
check root-ext4-rw-vda root_ok
check root-write sh -c "echo boot$boot >/root-was-written && sync && grep -qx boot$boot /root-was-written"

# --- The five disks: order (size and GET_ID serial), read-only flags. ---
disks_ok() {
	r=0
	for d in vda vdb vdc vdd vde; do
		eval "sz=\$SIZE_$d ser=\$SERIAL_$d ro=\$RO_$d"
		[ -d /sys/block/$d ] || { echo "$d missing"; r=1; continue; }
		want "$d size (512-byte sectors)" "$(cat /sys/block/$d/size)" "$sz" || r=1
		want "$d ro" "$(cat /sys/block/$d/ro)" "$ro" || r=1
	done
	[ -e /sys/block/vdf ] && { echo "unexpected vdf"; r=1; }
	return $r
}
check disks-order-size-ro disks_ok
serials_ok() {
	r=0
	for d in vda vdb vdc vdd vde; do
		eval "ser=\$SERIAL_$d"
		want "$d serial (GET_ID)" "$(cat /sys/block/$d/serial 2>&1)" "$ser" || r=1
	done
	return $r
}
check disks-serial-get-id serials_ok
# Queues per disk (VIRTIO_BLK_F_MQ: one per vCPU expected; in-vm-disks.sh judges it).
q=
for d in vda vdb vdc vdd vde; do q="$q${q:+,}$d:$(ls /sys/block/$d/mq 2>/dev/null | wc -l)"; done
echo "DISKS-INFO cpus=$(grep -c '^processor' /proc/cpuinfo) queues=$q"

# --- Overlay: erofs lower (vdb, ro) + ext4 upper (vdc). ---
mkdir -p /mnt/lower /mnt/upper /mnt/merged /mnt/extra-ro /mnt/extra-rw
check lower-mount-erofs mount -t erofs -o ro /dev/vdb /mnt/lower
check upper-mount-ext4 mount -t ext4 /dev/vdc /mnt/upper
mkdir -p /mnt/upper/upper /mnt/upper/work
check overlay-mount mount -t overlay overlay \
	-o lowerdir=/mnt/lower,upperdir=/mnt/upper/upper,workdir=/mnt/upper/work /mnt/merged
check overlay-lower-visible sh -c "grep -qx 'FROM-LOWER $NONCE' /mnt/merged/etc/from-lower"
if [ "$boot" = 1 ]; then
	overlay_write() {
		echo "OVERLAY-WRITE $NONCE" >/mnt/merged/etc/written-by-guest || return 1
		echo "COPIED-UP $NONCE" >>/mnt/merged/etc/copy-me || return 1
		sync
		grep -qx "OVERLAY-WRITE $NONCE" /mnt/upper/upper/etc/written-by-guest || { echo "not in the upper dir"; return 1; }
		[ ! -e /mnt/lower/etc/written-by-guest ] || { echo "appeared in the lower"; return 1; }
		# copy-up: the upper holds the whole file, the lower keeps the original
		want "upper copy-me" "$(cat /mnt/upper/upper/etc/copy-me | tr '\n' ' ')" "ORIGINAL $NONCE COPIED-UP $NONCE " || return 1
		want "lower copy-me" "$(cat /mnt/lower/etc/copy-me)" "ORIGINAL $NONCE"
	}
	check overlay-write-lands-in-upper overlay_write
	check lower-erofs-write-refused sh -c "! touch /mnt/lower/x 2>/dev/null"
else
	check overlay-upper-persisted sh -c "grep -qx 'OVERLAY-WRITE $NONCE' /mnt/merged/etc/written-by-guest && grep -qx 'COPIED-UP $NONCE' /mnt/merged/etc/copy-me"
fi
umount /mnt/merged
umount /mnt/upper
umount /mnt/lower

# --- Extra disk read-only (vdd). ---
check extra-ro-mount mount -t ext4 -o ro /dev/vdd /mnt/extra-ro
check extra-ro-read sh -c "grep -qx 'EXTRA-RO $NONCE' /mnt/extra-ro/ro-file.txt"
check extra-ro-write-refused sh -c "! touch /mnt/extra-ro/x 2>/dev/null"
# The device itself is read-only (VIRTIO_BLK_F_RO): the block layer refuses raw writes,
# and a read-write mount is refused.
check extra-ro-blockdev-write-refused sh -c "! dd if=/dev/zero of=/dev/vdd bs=4096 count=1 seek=100 conv=notrunc 2>/dev/null"
umount /mnt/extra-ro
rw_mount_refused() { # busybox mount retries read-only on EACCES: then it must be mounted ro
	mount -t ext4 -o rw /dev/vdd /mnt/extra-ro 2>/dev/null || return 0
	opts=$(awk '$2 == "/mnt/extra-ro" { print $4 }' /proc/mounts)
	umount /mnt/extra-ro
	case ",$opts," in *,ro,*) return 0 ;; esac
	echo "vdd mounted read-write: $opts"
	return 1
}
check extra-ro-rw-mount-refused rw_mount_refused

# --- Extra disk read-write (vde). ---
check extra-rw-mount mount -t ext4 -o rw /dev/vde /mnt/extra-rw
up=$(cut -d' ' -f1 /proc/uptime)
if [ "$boot" = 1 ]; then
	rw_write() {
		printf 'FLASHPAN-DISK-TEST nonce=%s boot=1 uptime=%s\n' "$NONCE" "$up" >/mnt/extra-rw/flashpan-disk-test.txt || return 1
		# A bigger file, copied from vda: many requests in flight, both directions.
		cp /etc/data.bin /mnt/extra-rw/data.bin || return 1
		sync || return 1
		grep -q "nonce=$NONCE boot=1" /mnt/extra-rw/flashpan-disk-test.txt
	}
	check extra-rw-write-sync rw_write
else
	check extra-rw-readback-boot1 sh -c "grep -q '^FLASHPAN-DISK-TEST nonce=$NONCE boot=1 ' /mnt/extra-rw/flashpan-disk-test.txt"
	# Read it from the disk, not the page cache: nothing of vde has been read yet in this boot
	# except the metadata, but drop the caches anyway.
	echo 3 >/proc/sys/vm/drop_caches
	check extra-rw-data-readback sh -c "want=\$(sha256sum /etc/data.bin | cut -d' ' -f1); got=\$(sha256sum /mnt/extra-rw/data.bin | cut -d' ' -f1); [ \"\$got\" = \"\$want\" ] || { echo \"data.bin sha256 \$got, want \$want\"; false; }"
	check extra-rw-write-boot2 sh -c "printf 'FLASHPAN-DISK-TEST nonce=%s boot=2 uptime=%s\n' '$NONCE' '$up' >/mnt/extra-rw/boot2.txt && sync"
fi
check extra-rw-umount umount /mnt/extra-rw
finish
