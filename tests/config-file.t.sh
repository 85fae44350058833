#!/usr/bin/env bash
# `flashpan --config-file FILE [--api-sock PATH]`: the JSON a sandbox runtime
# writes for its hypervisor (Firecracker's format, in the exact shape the
# runtime marshals it) boots that VM. Tiny test kernels report what they see:
# bootparams the exact command line, blk-multi the disks in order with their
# ids and read-only flags, and the vsock device. Bad files exit 2 with the
# reason. One PASS/FAIL/SKIP line per case.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

T=30

if [ ! -x "$FLASHPAN" ] || [ ! -f "$KERNELS/bootparams.elf" ]; then
	fail config-file "no $FLASHPAN or $KERNELS/bootparams.elf (run make)"
	exit 0
fi

# image SECTORS: the pattern blk-multi recomputes (see tests/virtio-blk.t.sh).
image() {
	awk -v n="$1" 'BEGIN { for (s = 0; s < n; s++) for (r = 0; r < 32; r++) printf "<%010d.%02d>\n", s, r }'
}

# config KERNEL ROOT_RO NET_JSON : the runtime's JSON (json.MarshalIndent, two spaces), with the
# root drive listed second to check that it still becomes vda.
config() {
	cat <<EOF
{
  "boot-source": {
    "kernel_image_path": "$KERNELS/$1.elf",
    "boot_args": "console=ttyS0 reboot=k panic=1 acpi=off init=/init hostname=vm-cf matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 matchlock.cpus=1 matchlock.disk.vdb=/data,ro"
  },
  "drives": [
    {
      "drive_id": "disk0",
      "path_on_host": "$TMP/data.img",
      "is_root_device": false,
      "is_read_only": true
    },
    {
      "drive_id": "rootfs",
      "path_on_host": "$TMP/root.img",
      "is_root_device": true,
      "is_read_only": $2
    }
  ],
  "machine-config": {
    "vcpu_count": 1,
    "mem_size_mib": 128
  },
  "network-interfaces": [$3],
  "vsock": {
    "guest_cid": 3,
    "uds_path": "$TMP/v.sock"
  }
}
EOF
}

out() { tr -d '\r' <"$TMP/$1.out"; }

# check NAME WANT_RC LINE... : exit status and whole console lines.
check() {
	local name=$1 want=$2 line
	shift 2
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit status $rc, want $want; stderr: $(tail -c 400 "$TMP/$name.err" | tr '\n' ' ')"
		return 1
	fi
	for line in "$@"; do
		if ! out "$name" | grep -qxF -- "$line"; then
			fail "$name" "no line '$line'; console: $(out "$name" | tail -c 500 | tr '\n' '|')"
			return 1
		fi
	done
}

# refuse NAME MESSAGE : exit 2, MESSAGE on stderr, nothing booted, no socket made.
refuse() {
	local name=$1 msg=$2
	run_vm "$name" $T --config-file "$TMP/$name.json" --api-sock "$TMP/$name.api"
	if [ "$rc" -ne 2 ]; then
		fail "$name" "exit status $rc, want 2; stderr: $(tr '\n' ' ' <"$TMP/$name.err")"
	elif ! grep -qF -- "$msg" "$TMP/$name.err"; then
		fail "$name" "no '$msg' in stderr: $(tr '\n' ' ' <"$TMP/$name.err")"
	elif [ -s "$TMP/$name.out" ]; then
		fail "$name" "the guest ran: $(head -c 200 "$TMP/$name.out")"
	else
		pass "$name"
	fi
}

# ---- refusals need no KVM ----
printf '{ "boot-source": { "kernel_image_path": "x" }, ' >"$TMP/bad-json.json"
refuse bad-json "invalid JSON at line 1"
echo '{ "drives": [] }' >"$TMP/no-boot-source.json"
refuse no-boot-source "missing required key 'boot-source'"
echo '{ "boot-source": { "boot_args": "console=ttyS0" } }' >"$TMP/no-kernel.json"
refuse no-kernel "missing required key 'boot-source.kernel_image_path'"
echo '{ "boot-source": { "kernel_image_path": "k" }, "drives": [ { "drive_id": "r", "is_root_device": true } ] }' \
	>"$TMP/no-path.json"
refuse no-path "missing required key 'drives[].path_on_host'"
echo '{ "boot-source": { "kernel_image_path": "k" }, "drives": [ { "drive_id": "r", "path_on_host": "p" } ] }' \
	>"$TMP/no-root-flag.json"
refuse no-root-flag "missing required key 'drives[].is_root_device'"
echo '{ "boot-source": { "kernel_image_path": "k" }, "machine-config": { "vcpu_count": "2", "mem_size_mib": 128 } }' \
	>"$TMP/vcpu-string.json"
refuse vcpu-string "'machine-config.vcpu_count' must be a whole number from 1 to 64"
echo '{ "boot-source": { "kernel_image_path": "k" }, "machine-config": { "vcpu_count": 1 } }' \
	>"$TMP/no-mem.json"
refuse no-mem "missing required key 'machine-config.mem_size_mib'"
echo '{ "boot-source": { "kernel_image_path": "k" }, "vsock": { "uds_path": "/tmp/x" } }' >"$TMP/no-cid.json"
refuse no-cid "missing required key 'vsock.guest_cid'"
echo '{ "boot-source": { "kernel_image_path": "k" }, "network-interfaces": [ { "iface_id": "eth0" } ] }' \
	>"$TMP/no-tap.json"
refuse no-tap "missing required key 'network-interfaces[].host_dev_name'"
echo '{ "boot-source": { "kernel_image_path": "k" }, "drives": [
	{ "drive_id": "a", "path_on_host": "a", "is_root_device": true },
	{ "drive_id": "b", "path_on_host": "b", "is_root_device": true } ] }' >"$TMP/two-roots.json"
refuse two-roots "both is_root_device"
echo '[]' >"$TMP/not-object.json"
refuse not-object "the top level must be a JSON object"
run_vm no-file $T --config-file "$TMP/missing.json"
[ "$rc" -eq 2 ] && grep -qF "cannot read config file $TMP/missing.json" "$TMP/no-file.err" &&
	pass no-file || fail no-file "rc $rc: $(cat "$TMP/no-file.err")"
"$FLASHPAN" --config-file x --help >"$TMP/help.out" 2>&1
[ $? -eq 0 ] && grep -q 'accepted for compatibility and IGNORED' "$TMP/help.out" &&
	pass help-api-sock || fail help-api-sock "--help does not say what --api-sock does"

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	skip config-file-boot "/dev/kvm is not usable here"
	exit 0
fi

image 64 >"$TMP/root.img"
image 72 >"$TMP/data.img"
cp "$TMP/data.img" "$TMP/data.orig"

# ---- the exact command line: boot_args + root=/dev/vda rw + one word per device ----
config bootparams false "" >"$TMP/cmdline.json"
run_vm cmdline $T --api-sock "$TMP/api.sock" --config-file "$TMP/cmdline.json"
check cmdline 0 "cmdline: console=ttyS0 reboot=k panic=1 acpi=off init=/init hostname=vm-cf matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 matchlock.cpus=1 matchlock.disk.vdb=/data,ro root=/dev/vda rw virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 virtio_mmio.device=4K@0xd0002000:7" &&
	{ [ ! -e "$TMP/api.sock" ] && pass cmdline || fail cmdline "--api-sock created $TMP/api.sock"; }

# A read-only root drive: root=/dev/vda ro, as Firecracker says it.
config bootparams true "" >"$TMP/root-ro.json"
run_vm root-ro $T --config-file "$TMP/root-ro.json"
if check root-ro 0; then
	out root-ro | grep -q '^cmdline: .* root=/dev/vda ro virtio_mmio' && pass root-ro ||
		fail root-ro "$(out root-ro | grep '^cmdline')"
fi

# ---- disks in order (root first), ids, read-only, and the vsock device ----
config blk-multi false "" >"$TMP/disks.json"
run_vm disks $T --config-file "$TMP/disks.json" --api-sock "$TMP/api.sock"
check disks 0 "disk 0 vda id=rootfs ro=0 sectors=64" "disk 1 vdb id=disk0 ro=1 sectors=72" \
	"device 2: virtio-vsock (id 19)" "disk 0 write status=ok" "disk 1 write status=ioerr" \
	"blk-multi ok: 2 disks" && {
	if ! cmp -s "$TMP/data.img" "$TMP/data.orig"; then
		fail disks "the read-only drive changed"
	elif [ -e "$TMP/v.sock" ]; then
		fail disks "the vsock socket $TMP/v.sock was left behind"
	else
		pass disks
	fi
}

# ---- unknown keys: a warning each, then the VM boots ----
config bootparams false "" | sed 's/^{$/{ "logger": { "level": "Info" }, "metrics": null,/' |
	sed 's/"mem_size_mib": 128/"mem_size_mib": 128, "track_dirty_pages": false/' >"$TMP/unknown.json"
run_vm unknown $T --config-file "$TMP/unknown.json" --no-seccomp
if check unknown 0; then
	why=""
	for k in "'logger'" "'metrics'" "'machine-config.track_dirty_pages'" "--no-seccomp"; do
		grep -qF -- "$k" "$TMP/unknown.err" || why="$why no warning for $k;"
	done
	[ -z "$why" ] && pass unknown || fail unknown "$why stderr: $(tr '\n' ' ' <"$TMP/unknown.err")"
fi

# ---- the same file with two vCPUs and hello, the smallest boot ----
config hello false "" | sed 's/"vcpu_count": 1/"vcpu_count": 2/' >"$TMP/hello.json"
run_vm hello $T --config-file "$TMP/hello.json"
expect hello 0 "hello from flashpan test kernel"

# ---- a network interface: a TAP in a network namespace of our own ----
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || [ ! -c /dev/net/tun ]; then
	skip config-file-tap "needs root, iproute2 and /dev/net/tun"
else
	ns=fpcf$$
	if ! ip netns add $ns 2>"$TMP/netns.err"; then
		skip config-file-tap "ip netns add: $(cat "$TMP/netns.err")"
	else
		trap 'ip netns del $ns 2>/dev/null; rm -rf "$TMP"' EXIT
		ip netns exec $ns ip tuntap add dev fc-test0 mode tap vnet_hdr
		config bootparams false '
    {
      "iface_id": "eth0",
      "guest_mac": "AA:FC:00:00:00:42",
      "host_dev_name": "fc-test0"
    }
  ' >"$TMP/tap.json"
		IN_NS="ip netns exec $ns"
		timeout -s KILL $T ip netns exec $ns "$FLASHPAN" --config-file "$TMP/tap.json" \
			>"$TMP/tap.out" 2>"$TMP/tap.err" </dev/null
		rc=$?
		check tap 0 && {
			n=$(out tap | grep '^cmdline' | grep -o 'virtio_mmio.device=' | wc -l)
			[ "$n" -eq 4 ] && pass tap || fail tap "want 4 virtio devices (2 disks, net, vsock), got $n"
		}
		ip netns del $ns
	fi
fi
