#!/usr/bin/env bash
# Installs what Warren needs on a fresh machine: the npm packages (when node_modules is missing or older
# than package-lock.json) and, with --test, the Debian packages of the end-to-end tests: python3-pika for
# the pika tests, golang-go and golang-github-rabbitmq-amqp091-go-dev for the Go client (amqp091-go) tests,
# rabbitmq-server for the differential tests (which start their own node; Debian's service is not started),
# chromium for the web UI's end-to-end tests (driven by playwright-core; no browser is downloaded), and
# librabbitmq-dev and jq for the smoke of ../shared/bench's C load generator (test/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "${1:-}" = "--test" ]; then
  missing=()
  /usr/bin/python3 -c 'import pika' 2>/dev/null || missing+=(python3-pika)
  command -v go >/dev/null || missing+=(golang-go)
  [ -d /usr/share/gocode/src/github.com/rabbitmq/amqp091-go ] || missing+=(golang-github-rabbitmq-amqp091-go-dev)
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -f /usr/include/amqp.h ] || [ -f /usr/include/rabbitmq-c/amqp.h ] || missing+=(librabbitmq-dev)
  command -v jq >/dev/null || missing+=(jq)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      # keep apt from starting the services it installs (a system RabbitMQ would only take memory)
      policy=/usr/sbin/policy-rc.d
      made_policy=
      if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
      fi
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      if [ -n "$made_policy" ]; then rm -f "$policy"; fi
    else
      echo "The end-to-end tests need Debian packages: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
fi
