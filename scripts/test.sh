#!/bin/bash
# Builds Image Factory and runs the whole test suite: unit tests, the format check, and the
# integration tests against a RabbitMQ node on 127.0.0.1 and a libvirtd on qemu:///system that
# this script starts (and stops at the end). Usage: scripts/test.sh [CTEST ARGS...], e.g.
# scripts/test.sh -L unit
# Environment: BUILD_DIR (default ./build), RMQ_PORT (default 5672), JOBS (default 2),
# IF_LIBVIRT_DIR (libvirtd state, default $BUILD_DIR/libvirt).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-2}
export RMQ_PORT=${RMQ_PORT:-5672}
export RMQ_BASE=${RMQ_BASE:-$build/rabbitmq}
export IF_LIBVIRT_DIR=${IF_LIBVIRT_DIR:-$build/libvirt}
export IF_LIBVIRT_URI=qemu:///system

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$jobs"

stop_services() {
    bash "$root/scripts/libvirt/stop.sh" >/dev/null 2>&1 || true
    bash "$root/scripts/rabbitmq/stop.sh" >/dev/null 2>&1 || true
}
trap stop_services EXIT
bash "$root/scripts/rabbitmq/start.sh"
bash "$root/scripts/libvirt/start.sh"

# Integration tests each start their own daemon; running two at once on two cores keeps the
# suite inside CI's time budget without starving the QEMU boots of the image tests.
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
