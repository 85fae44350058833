#!/bin/sh
# Self-test of the nested test VM (run by busybox sh inside it, cwd /payload):
#   tests/vm/run-in-vm.sh --payload build/vm/kvmcheck -- tests/vm/selftest.sh
# or `make vm-selftest`. Optional arguments are echoed back (checks argument quoting).
set -e
echo "selftest: kernel $(uname -r), $(nproc) CPUs"
[ $# -eq 0 ] || { echo "selftest: $# args:"; for a in "$@"; do echo "  [$a]"; done; }
[ -c /dev/kvm ] || { echo "selftest: /dev/kvm missing"; exit 1; }
echo "selftest: /dev/kvm present ($(ls -l /dev/kvm | awk '{print $5 $6}'))"
grep -qw svm /proc/cpuinfo && echo "selftest: CPU flags include svm"
./kvmcheck
echo "selftest: hello from /out" >/out/hello.txt
echo "selftest: PASS"
