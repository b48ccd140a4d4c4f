#!/usr/bin/env bash
# Runs the whole test suite of swift-lwm2m on a fresh Debian machine with a Swift 6 toolchain:
# installs the Debian packages the tests need when they are missing, builds and runs every test,
# and builds the benchmark package so it never rots.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v coap-client-notls >/dev/null 2>&1 || need+=(libcoap3-bin)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v gnutls-cli >/dev/null 2>&1 || need+=(gnutls-bin)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libxml-2.0 2>/dev/null || need+=(libxml2-dev)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "Installing Debian packages the tests need: ${need[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}"
fi

swift build --build-tests
swift test --skip-build
(cd Benchmarks && swift build)
