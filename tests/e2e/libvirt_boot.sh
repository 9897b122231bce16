#!/bin/bash
# Builds the Debian 12 example template for target libvirt with the command line and pushes
# it into a transient pool of the libvirtd at IF_LIBVIRT_URI (default qemu:///system, started by
# scripts/libvirt/start.sh). Then it boots the defined domain until the kernel prints its banner
# on the serial log. Needs root, the Debian mirror and a running libvirtd. On 2 cores under TCG
# the build takes 2-8 minutes (less with a warm package cache) and the boot about 12 s.
. "$(dirname "$0")/lib.bash"

uri=${IF_LIBVIRT_URI:-qemu:///system}
lv() { virsh -q -c "$uri" "$@"; }
run() { "$imagefactory" --imgdir "$data" "$@"; }
milliseconds_since() { echo "$((($(date +%s%N) - $1) / 1000000))"; }
# wait_for_kernel LOG: true once LOG shows the kernel's banner, false after about 300 s.
wait_for_kernel() {
    for _ in $(seq 1 1500); do
        grep -q "Linux version" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

if ! lv version >/dev/null 2>&1; then
    echo "FAIL: libvirtd is not reachable at $uri; run scripts/libvirt/start.sh" >&2
    exit 1
fi

# qemu runs as libvirt-qemu, so the pool needs parents that are all o+x, which the 0700
# mktemp directory of lib.bash is not.
root=/var/tmp/imagefactory-e2e-libvirt-$$
pool=imagefactory-e2e-$$
domain=
volume=
cleanup() {
    if [ -n "$domain" ]; then
        lv destroy "$domain" >/dev/null 2>&1
        lv undefine "$domain" --nvram >/dev/null 2>&1
    fi
    [ -n "$volume" ] && lv vol-delete "$volume" --pool "$pool" >/dev/null 2>&1
    lv pool-destroy "$pool" >/dev/null 2>&1
    rm -rf "$root" "$work"
}
trap cleanup EXIT
mkdir -p "$root/pool" "$root/serial"
chmod 0755 "$root" "$root/pool" "$root/serial"
lv pool-create-as "$pool" dir --target "$root/pool" >/dev/null
check "test pool created" bash -c "virsh -q -c '$uri' pool-info '$pool' >/dev/null"

# Build
start=$(date +%s%N)
run --template "$IF_SOURCE_DIR/examples/debian12-minimal.tdl" --target libvirt \
    >"$work/build.out" 2>"$work/build.err"
check "build exits 0" [ $? -eq 0 ]
echo "build milliseconds=$(milliseconds_since "$start")"
run images --output json >"$work/images.json"
image=$(json_field "$work/images.json" 'd[0]["id"]')
build=$(json_field "$work/images.json" 'd[0]["latest_unpushed"]')
run show "$build" --output json >"$work/build.json"
target_image=$(json_field "$work/build.json" 'd["target_images"][0]["id"]')
file=$(json_field "$work/build.json" 'd["target_images"][0]["file"]')
check "target image is qcow2" bash -c "qemu-img info '$data/$file' | grep -q 'file format: qcow2'"
if [ "$failed" -ne 0 ]; then
    tail -n 30 "$work/build.err" >&2
    finish
    exit 1
fi

# Push
provider=$(printf '{"target": "libvirt", "uri": "%s", "pool": "%s", "serial_log_dir": "%s"}' \
    "$uri" "$pool" "$root/serial")
credentials='<provider_credentials><libvirt_credentials><username>e2e</username><password>pw-e2e-do-not-log</password></libvirt_credentials></provider_credentials>'
start=$(date +%s%N)
run --verbose --image "$image" --provider "$provider" --credentials "$credentials" \
    >"$work/push.out" 2>"$work/push.err"
check "push exits 0" [ $? -eq 0 ]
echo "push milliseconds=$(milliseconds_since "$start") file_bytes=$(stat -c %s "$data/$file")"
# The driver's own timing of the stream upload, from the job log.
grep -o "uploaded volume=.*" "$work/push.err" || true
run show "$target_image" --output json >"$work/ti.json"
provider_image=$(json_field "$work/ti.json" 'd["provider_images"][0]["id"]')
uuid=$(json_field "$work/ti.json" 'd["provider_images"][0]["target_identifier"]')
domain=imagefactory-$provider_image
volume=imagefactory-$target_image.qcow2
check "domain UUID recorded" [ "$(lv domuuid "$domain")" = "$uuid" ]
check "provider account is the username" [ "$(json_field "$work/ti.json" \
    'd["provider_images"][0]["provider_account_identifier"]')" = e2e ]
virtual_size=$(qemu-img info --output json "$data/$file" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
check "volume capacity is the virtual size" \
    [ "$(lv vol-info "$volume" --pool "$pool" --bytes | awk '/^Capacity:/ {print $2}')" = "$virtual_size" ]
check "password not in output" bash -c "! grep -q pw-e2e-do-not-log '$work/push.err' '$work/push.out'"
check "password not in data dir" bash -c "! grep -rq pw-e2e-do-not-log '$data'"

# A second push of the same build is rejected and changes nothing.
run --image "$image" --build "$build" --provider "$provider" --credentials "$credentials" \
    >"$work/push2.out" 2>&1
check "second push fails" [ $? -ne 0 ]
check "second push names the volume" grep -q "$volume" "$work/push2.out"
check "one volume in the pool" [ "$(lv vol-list "$pool" | wc -l)" = 1 ]
run show "$target_image" --output json >"$work/ti2.json"
check "rejected second push left no record" \
    [ "$(json_field "$work/ti2.json" 'len(d["provider_images"])')" = 1 ]

# Boot to the kernel banner
serial_log=$root/serial/$domain.serial.log
start=$(date +%s%N)
check "domain starts" lv start "$domain"
booted=false
wait_for_kernel "$serial_log" && booted=true
check "kernel banner on the serial log" $booted
echo "boot-to-kernel milliseconds=$(milliseconds_since "$start")"
if ! $booted; then
    tail -c 2000 "$serial_log" >&2
fi
lv destroy "$domain" >/dev/null 2>&1

# Secure Boot: the same image in a second pool, booted with the Microsoft-enrolled firmware
# that libvirt picks for secure_boot, must reach the kernel with Secure Boot on (shim and the
# signed GRUB and kernel from Debian).
sb_pool=imagefactory-e2e-sb-$$
mkdir -p "$root/pool-sb"
chmod 0755 "$root/pool-sb"
lv pool-create-as "$sb_pool" dir --target "$root/pool-sb" >/dev/null
sb_provider=$(printf '{"target": "libvirt", "name": "lab-sb", "uri": "%s", "pool": "%s", "serial_log_dir": "%s", "secure_boot": true}' \
    "$uri" "$sb_pool" "$root/serial")
run --image "$image" --build "$build" --provider "$sb_provider" >"$work/push-sb.out" 2>&1
check "push with secure_boot exits 0" [ $? -eq 0 ]
sb_image=$(awk '/^Pushing build/ {print $NF; exit}' "$work/push-sb.out")
sb_domain=imagefactory-$sb_image
sb_log=$root/serial/$sb_domain.serial.log
start=$(date +%s%N)
check "secure boot domain starts" lv start "$sb_domain"
booted=false
wait_for_kernel "$sb_log" && booted=true
check "kernel banner with secure boot" $booted
echo "secure-boot-to-kernel milliseconds=$(milliseconds_since "$start")"
for _ in $(seq 1 150); do
    grep -qi "secure boot enabled" "$sb_log" 2>/dev/null && break
    sleep 0.2
done
check "kernel reports secure boot enabled" grep -qi "secure boot enabled" "$sb_log"
lv destroy "$sb_domain" >/dev/null 2>&1
lv undefine "$sb_domain" --nvram >/dev/null 2>&1
lv vol-delete "imagefactory-$target_image.qcow2" --pool "$sb_pool" >/dev/null 2>&1
lv pool-destroy "$sb_pool" >/dev/null 2>&1

finish
