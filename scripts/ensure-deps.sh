#!/usr/bin/env bash
# Installs what Warren needs on a fresh machine: the npm packages (when node_modules is missing or older
# than package-lock.json) and, with --test, Debian's python3-pika for the pika end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "${1:-}" = "--test" ] && ! /usr/bin/python3 -c 'import pika' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pika >/dev/null
  else
    echo "The pika tests need Debian's python3-pika: sudo apt-get install python3-pika" >&2
    exit 1
  fi
fi
