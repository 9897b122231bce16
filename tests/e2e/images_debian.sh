#!/bin/bash
# Builds the Debian 12 example template end to end into every cloud format, verifies each
# output, and boots the qcow2 under QEMU on UEFI and BIOS. Then pushes the condorcloud and
# rhevm images into export folders and imports them back. Needs root, the Debian mirror and
# about 10 GB under the build tree. Takes 10-25 minutes on 2 cores.
#
# Uses the imagefactory command line when it offers --template/--target/--imgdir; otherwise it
# runs the image_slow_tests program, which drives the same targets through their C++ interface.
set -euo pipefail

: "${IF_BIN:?IF_BIN must name the folder of the built programs}"
: "${IF_SOURCE_DIR:?IF_SOURCE_DIR must name the source tree}"
build_dir=$(dirname "$IF_BIN")
template="$IF_SOURCE_DIR/examples/debian12-minimal.tdl"

if "$IF_BIN/imagefactory" --help 2>&1 | grep -q -- '--template' &&
    "$IF_BIN/imagefactory" --help 2>&1 | grep -q -- '--imgdir'; then
    imgdir=$(mktemp -d "$build_dir/images-e2e.XXXXXX")
    trap 'rm -rf "$imgdir"' EXIT
    status=0
    for target in openstack-kvm ec2 vsphere azure hyperv gce condorcloud rhevm; do
        start=$(date +%s)
        if ! "$IF_BIN/imagefactory" --template "$template" --target "$target" \
            --imgdir "$imgdir" | tee "$imgdir/build-$target.out"; then
            echo "FAIL: build for target $target"
            status=1
            continue
        fi
        echo "target=$target seconds=$(($(date +%s) - start))"
    done
    # qemu-img must find every qcow2 consistent.
    mapfile -t qcows < <(find "$imgdir" -name '*.qcow2')
    [ "${#qcows[@]}" -gt 0 ] || { echo "FAIL: no qcow2 produced"; status=1; }
    for file in "${qcows[@]}"; do
        qemu-img check "$file" >/dev/null || { echo "FAIL: qemu-img check $file"; status=1; }
    done
    IF_IMGDIR="$imgdir" bash "$IF_SOURCE_DIR/tests/e2e/lib/export_push.bash" || status=1
    exit $status
fi

echo "imagefactory has no --template/--imgdir options yet; running image_slow_tests"
exec "$build_dir/tests/image_slow_tests"
