#!/usr/bin/env bash
# `npm run build`. In a checkout with the dev dependencies it compiles everything (tsconfig.json: src, test,
# bench, tools, examples) into dist/. With --src (what `npm pack` runs, through prepack), or when the dev
# dependencies are absent (after `npm ci --omit=dev`, which installs pino alone), it compiles src/ alone
# (tsconfig.build.json) into dist/src with type declarations: all that running or embedding Warren needs.
# package.json's prepare runs it too when dist/src is missing: npm installs a git dependency by cloning it,
# installing its dev dependencies and running prepare (not prepack) before packing it.
#
# Compiling src/ takes TypeScript and Node's type declarations, nothing else. They stay dev dependencies, so
# that an application installing Warren downloads no compiler; without them this script fetches the versions
# package-lock.json pins into a cache folder outside the project (npm needs the registry or its cache), and
# node_modules keeps the runtime packages only.
#
# The web UI (ui/: Preact and uPlot, bundled by Vite) is built into dist/ui whenever Vite is installed, in the
# full build and with --src alike (the npm package ships the built UI); the full build also type-checks it
# (ui/tsconfig.json), beside the main compile. Without the dev dependencies there is no UI, and the
# management listener says so at `/`.
#
# After a successful build, dist/.src-built carries the time the build started: scripts/start-build.sh (npm
# start) compares the sources with it and skips the compiler when nothing changed since.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist
started=$(mktemp dist/.src-build.XXXXXX)
trap 'rm -f "$started"' EXIT
built() { mv "$started" dist/.src-built; }
build_ui() {
  if [ -x node_modules/.bin/vite ] && [ -d node_modules/preact ] && [ -d node_modules/uplot ]; then
    node_modules/.bin/vite build ui
  else
    echo "warren build: Vite is not installed (no dev dependencies): the web UI (dist/ui) is not built" >&2
  fi
}
if [ -x node_modules/.bin/tsc ] && [ -d node_modules/@types/node ]; then
  if [ "${1:-}" = "--src" ]; then
    node_modules/.bin/tsc -p tsconfig.build.json
    build_ui
  else
    # The UI's type check runs on the second core while the main compile runs
    node_modules/.bin/tsc -p ui/tsconfig.json &
    ui_check=$!
    node_modules/.bin/tsc -p tsconfig.json
    wait "$ui_check"
    build_ui
  fi
  built
  exit 0
fi
locked() { node -p "require('./package-lock.json').packages['node_modules/$1'].version"; }
typescript=$(locked typescript)
node_types=$(locked @types/node)
tools="${XDG_CACHE_HOME:-$HOME/.cache}/warren/build-typescript-$typescript-node-$node_types"
if [ ! -x "$tools/node_modules/.bin/tsc" ]; then
  echo "warren build: no dev dependencies; fetching typescript@$typescript and @types/node@$node_types into $tools" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "typescript@$typescript" "@types/node@$node_types"
fi
"$tools/node_modules/.bin/tsc" -p tsconfig.build.json --typeRoots "$tools/node_modules/@types"
build_ui
built
