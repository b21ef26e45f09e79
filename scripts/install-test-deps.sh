#!/usr/bin/env bash
# Installs the clients the compatibility tests drive, from Debian: kcat (librdkafka), kafka-python
# 2.0.2 (python3-kafka), confluent-kafka 1.7.0 (python3-confluent-kafka: transactions and read_committed from
# Python, which kafka-python 2.0.2 lacks), openssl (src/test/compat/secure.sh makes its certificates with it), plus
# the Python codec libraries kafka-python uses for snappy, lz4 and zstd
# (python3-kafka does not depend on them; without them those codec tests are skipped, not failed),
# headless Chromium with its driver for the browser tests (ConsoleBrowserIT, and BridgeClientsReadmeIT's
# SockJS page; skipped without),
# and iproute2 and iptables for the network-partition tests (NetworkPartitionIT: each node in a network
# namespace, links cut with iptables; skipped without them or without root).
# Needs root (or sudo). Does nothing when everything is already there.
#
# Usage: scripts/install-test-deps.sh [--check]     --check: only report what is missing (exit 1 if required ones are)
set -euo pipefail

REQUIRED=(kcat python3-kafka python3-confluent-kafka openssl)
OPTIONAL=(python3-snappy python3-lz4 python3-zstandard chromium chromium-driver iproute2 iptables)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing_required=()
missing_all=()
for p in "${REQUIRED[@]}"; do installed "$p" || { missing_required+=("$p"); missing_all+=("$p"); }; done
for p in "${OPTIONAL[@]}"; do installed "$p" || missing_all+=("$p"); done

if [[ ${#missing_all[@]} -eq 0 ]]; then
    exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
    echo "install-test-deps: missing: ${missing_all[*]}" >&2
    [[ ${#missing_required[@]} -eq 0 ]]
    exit
fi

if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "install-test-deps: missing ${missing_all[*]} and not root: run" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing_all[*]}" >&2
    [[ ${#missing_required[@]} -eq 0 ]] && { echo "install-test-deps: continuing; those codec tests will be skipped" >&2; exit 0; }
    exit 1
fi
echo "install-test-deps: installing ${missing_all[*]}" >&2
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_all[@]}" >/dev/null
