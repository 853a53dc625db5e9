#!/usr/bin/env bash
# Fetch the UI's front-end libraries again, at the versions src/shipway/ui/static/vendor/README.md
# names. Only a maintainer upgrading them runs this (it needs npm); users never do.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/shipway/ui/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent preact@10.28.0 htm@3.1.1 echarts@6.1.0 >/dev/null)
for tarball in "$work"/*.tgz; do
  mkdir -p "${tarball%.tgz}" && tar xzf "$tarball" -C "${tarball%.tgz}"
done
cp "$work"/preact-10.28.0/package/dist/preact.module.js "$out/preact.module.js"
cp "$work"/preact-10.28.0/package/hooks/dist/hooks.module.js "$out/preact-hooks.module.js"
cp "$work"/preact-10.28.0/package/LICENSE "$out/LICENSE-preact"
cp "$work"/htm-3.1.1/package/dist/htm.module.js "$out/htm.module.js"
cp "$work"/htm-3.1.1/package/LICENSE "$out/LICENSE-htm"
cp "$work"/echarts-6.1.0/package/dist/echarts.esm.min.mjs "$out/echarts.esm.min.js"
cp "$work"/echarts-6.1.0/package/LICENSE "$out/LICENSE-echarts"
cp "$work"/echarts-6.1.0/package/NOTICE "$out/NOTICE-echarts"
echo "vendored into $out"
