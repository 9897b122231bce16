#!/bin/bash
# Stops the virtlogd and libvirtd that start.sh started with the same IF_LIBVIRT_DIR.
# libvirtd leaves guests running when it exits and reloads transient pools when it starts again.
# So first this removes what a test run left behind: domains whose disk is in a test pool (a
# transient pool named imagefactory-test-* or imagefactory-e2e-*), then those pools. Domains an
# operator pushed into other pools are left alone, and so is a libvirtd that start.sh found
# already running. Succeeds when nothing is running.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
state=${IF_LIBVIRT_DIR:-$root/build/libvirt}
uri=qemu:///system

pid_of() {
    # pid_of PIDFILE COMM: the pid in the file when it names a running process called COMM.
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] && echo "$pid"
}

stop_daemon() {
    # stop_daemon PIDFILE COMM: TERM, then KILL when it is still there after 15 s.
    local pid
    if ! pid=$(pid_of "$1" "$2"); then
        rm -f "$1"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 150); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] || break
        sleep 0.1
    done
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]]; then
        echo "libvirt: $2 $pid did not stop within 15 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$1"
}

test_pools='^imagefactory-(test|e2e)-'
if virsh -c "$uri" version >/dev/null 2>&1; then
    for domain in $(virsh -c "$uri" list --all --name 2>/dev/null | grep '^imagefactory-'); do
        virsh -c "$uri" dumpxml "$domain" 2>/dev/null |
            grep -Eq "pool='imagefactory-(test|e2e)-" || continue
        virsh -c "$uri" destroy "$domain" >/dev/null 2>&1
        virsh -c "$uri" undefine "$domain" --nvram >/dev/null 2>&1 ||
            echo "libvirt: cannot undefine domain $domain" >&2
    done
    for pool in $(virsh -c "$uri" pool-list --transient --name 2>/dev/null | grep -E "$test_pools"); do
        virsh -c "$uri" pool-destroy "$pool" >/dev/null 2>&1 ||
            echo "libvirt: cannot destroy pool $pool" >&2
    done
fi

if [[ -e $state/run/foreign ]]; then
    rm -f "$state/run/foreign"
    echo "libvirt: left the libvirtd that was already running in place"
    exit 0
fi

stop_daemon "$state/run/libvirtd.pid" libvirtd
stop_daemon "$state/run/virtlogd.pid" virtlogd
echo "libvirt: libvirtd and virtlogd stopped (state in $state)"
