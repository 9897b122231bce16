#!/bin/bash
# Pushes the condorcloud and rhevm images that images_debian.sh built into export folders,
# checks what lands there, and imports each back twice. Run by images_debian.sh with IF_IMGDIR
# set to its data directory; each build's output is in $IF_IMGDIR/build-<target>.out.
set -uo pipefail

imagefactory="$IF_BIN/imagefactory"
data="$IF_IMGDIR"
status=0
fail() {
    echo "FAIL: $*"
    status=1
}
image_of() { awk '/^Building build/ {print $6; exit}' "$data/build-$1.out"; }
provider_image_of() { awk '/^Pushing build/ {print $NF; exit}' "$1"; }

# condorcloud: the image and its domain XML appear in images_dir, nothing stays in staging.
cloud="$data/cloud-images"
mkdir -p "$cloud/staging"
condor_provider='{"target": "condorcloud", "name": "condor-e2e", "images_dir": "'"$cloud"'"}'
image=$(image_of condorcloud)
if "$imagefactory" --imgdir "$data" --image "$image" --provider "$condor_provider" \
    >"$data/push-condor.out" 2>&1; then
    pushed=$(provider_image_of "$data/push-condor.out")
    name="condorimage-$pushed"
    [ -s "$cloud/$name.img" ] || fail "condorcloud image $name.img missing"
    [ -s "$cloud/$name.xml" ] || fail "condorcloud domain XML $name.xml missing"
    [ -z "$(ls -A "$cloud/staging")" ] || fail "condorcloud staging not empty"
    grep -q "$cloud/$name.img" "$cloud/$name.xml" || fail "domain XML does not name the image"
    virt-xml-validate "$cloud/$name.xml" domain >/dev/null ||
        fail "libvirt's schema rejects the condorcloud domain XML"
    first=$("$imagefactory" --imgdir "$data" --target-image "$name" --image-desc '<image/>' \
        --target condorcloud --provider "$condor_provider")
    second=$("$imagefactory" --imgdir "$data" --target-image "$name" --image-desc '<image/>' \
        --target condorcloud --provider "$condor_provider")
    [ -n "$first" ] && [ "$first" = "$second" ] || fail "condorcloud import twice differs"
    echo "condorcloud pushed as $name"
else
    cat "$data/push-condor.out"
    fail "condorcloud push"
fi

# rhevm: an export storage domain as oVirt leaves it, then the disk, its metadata and the OVF.
export_dir="$data/rhev-export"
domain="$export_dir/$(cat /proc/sys/kernel/random/uuid)"
mkdir -p "$domain/dom_md" "$domain/images" "$domain/master/vms"
printf 'CLASS=Backup\nROLE=Regular\nVERSION=3\n' >"$domain/dom_md/metadata"
rhev_provider='{"target": "rhevm", "name": "rhev-e2e", "nfs-dir": "'"$export_dir"'"}'
credentials='<provider_credentials><rhevm_credentials><username>admin@internal</username><password>e2e-secret-pw</password></rhevm_credentials></provider_credentials>'
image=$(image_of rhevm)
if "$imagefactory" --imgdir "$data" --verbose --image "$image" --provider "$rhev_provider" \
    --credentials "$credentials" >"$data/push-rhev.out" 2>&1; then
    pushed=$(provider_image_of "$data/push-rhev.out")
    vm=$("$imagefactory" --imgdir "$data" show "$pushed" --output json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_identifier"])')
    ovf="$domain/master/vms/$vm/$vm.ovf"
    [ -s "$ovf" ] || fail "rhevm OVF $ovf missing"
    mapfile -t metas < <(find "$domain/images" -name '*.meta')
    [ "${#metas[@]}" -eq 1 ] || fail "rhevm: expected one volume metadata file"
    disk="${metas[0]%.meta}"
    [ -s "$disk" ] || fail "rhevm disk missing"
    qemu-img check "$disk" >/dev/null || fail "qemu-img check of the rhevm disk"
    grep -q "FORMAT=COW" "${metas[0]}" || fail "rhevm metadata does not say COW"
    grep -q "$(basename "$disk")" "$ovf" || fail "OVF does not reference the disk"
    ! grep -rq e2e-secret-pw "$data" "$export_dir" || fail "rhevm password written to disk"
    first=$("$imagefactory" --imgdir "$data" --target-image "$vm" --image-desc '<image/>' \
        --target rhevm --provider "$rhev_provider")
    second=$("$imagefactory" --imgdir "$data" --target-image "$vm" --image-desc '<image/>' \
        --target rhevm --provider "$rhev_provider")
    [ -n "$first" ] && [ "$first" = "$second" ] || fail "rhevm import twice differs"
    echo "rhevm pushed as VM $vm"
else
    cat "$data/push-rhev.out"
    fail "rhevm push"
fi
exit $status
