#!/bin/bash
# Installs everything Image Factory needs to build, test and build real images, from Debian 12
# packages only. Run as root.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config clang-format git
    libxml2-dev libsqlite3-dev libcurl4-openssl-dev libarchive-dev libssl-dev uuid-dev
    libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
    libqpid-proton-cpp12-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    # the message broker the tests start, and a Python AMQP client for test probes
    rabbitmq-server python3-qpid-proton
    # image building, conversion and boot checks
    mmdebstrap qemu-utils qemu-system-x86 ovmf seabios fdisk e2fsprogs dosfstools mtools
    grub-pc-bin grub-efi-amd64-bin grub-efi-amd64-signed shim-signed
    openssl util-linux iproute2 procps
    xz-utils gzip zstd tar curl python3
    # the libvirt provider: client library, and the daemon the tests start
    libvirt-dev libvirt-daemon-system libvirt-clients
)

export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${packages[@]}"
