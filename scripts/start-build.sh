#!/usr/bin/env bash
# npm start's build: compiles only when a source (src/, the web UI's ui/, the compiler settings, or the locked
# dependencies) changed since the last successful build, which scripts/build.sh records in dist/.src-built. A
# restart of a built tree then goes straight to node instead of paying several seconds of tsc. (An installed
# package has no ui/ folder, only the built dist/ui: find's complaint about it is silenced.)
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.src-built
if [ -f "$stamp" ] && [ -f dist/src/main.js ] &&
  [ -z "$(find src ui tsconfig.json tsconfig.build.json package-lock.json -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
exec bash scripts/build.sh
