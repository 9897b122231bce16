#!/bin/bash
# Starts a private virtlogd and libvirtd for tests on a machine without systemd. Their config,
# pid files and logs live in $IF_LIBVIRT_DIR (default ./build/libvirt); the sockets and driver
# state stay at libvirt's defaults (/run/libvirt, /var/lib/libvirt), so clients use
# qemu:///system. libvirtd gets no --listen, so it opens no TCP port, and the default network
# is never started.
#
# Idempotent: when the libvirtd recorded in our pid file already answers, the script exits 0.
# When another libvirtd answers on the system socket (a second one cannot share the driver
# state directories), the tests use that one and stop.sh leaves it running. Must run as root.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
state=${IF_LIBVIRT_DIR:-$root/build/libvirt}
uri=qemu:///system

alive_as() {
    # alive_as PIDFILE COMM: the pid file names a running process called COMM.
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]]
}

api_answers() {
    timeout 10 virsh -c "$uri" version >/dev/null 2>&1
}

if api_answers; then
    if alive_as "$state/run/libvirtd.pid" libvirtd; then
        echo "libvirt: libvirtd $(cat "$state/run/libvirtd.pid") already running (state in $state)"
        exit 0
    fi
    mkdir -p "$state/run"
    touch "$state/run/foreign"
    echo "libvirt: using the libvirtd that already answers on $uri; stop.sh will leave it running"
    exit 0
fi

mkdir -p "$state/conf" "$state/run" "$state/logs"
chmod 0755 "$state"
rm -f "$state/run/foreign"
cat >"$state/conf/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 0
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
log_outputs = "3:file:$state/logs/libvirtd.log"
CONF
cat >"$state/conf/virtlogd.conf" <<CONF
log_outputs = "3:file:$state/logs/virtlogd.log"
CONF

if ! alive_as "$state/run/virtlogd.pid" virtlogd; then
    rm -f "$state/run/virtlogd.pid"
    virtlogd --daemon --config "$state/conf/virtlogd.conf" --pid-file "$state/run/virtlogd.pid"
fi
rm -f "$state/run/libvirtd.pid"
# libvirtd exits 0 even when a second daemon fails to take the driver state, so only a call to
# the API shows whether it came up.
libvirtd --daemon --config "$state/conf/libvirtd.conf" --pid-file "$state/run/libvirtd.pid"

started=$(date +%s%N)
# The first start on a machine probes QEMU's capabilities, which took about 8 s here. Later
# starts respond in well under a second.
for _ in $(seq 1 600); do
    if api_answers; then
        echo "libvirt: libvirtd $(cat "$state/run/libvirtd.pid") up on $uri after" \
            "$((($(date +%s%N) - started) / 1000000)) ms (state in $state)"
        exit 0
    fi
    sleep 0.1
done
echo "libvirt: libvirtd did not respond on $uri within 60 s; see $state/logs/libvirtd.log" >&2
tail -n 20 "$state/logs/libvirtd.log" >&2 || true
exit 1
