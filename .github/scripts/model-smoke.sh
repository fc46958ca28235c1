#!/usr/bin/env bash
# CI for the model registry: given a GTO tag (NAME@vX.Y.Z registers a version, NAME#STAGE#N
# assigns a stage), fetch that model version from the DVC remote by name and smoke-test it.
# Usage: model-smoke.sh REF [OUTDIR]   (run from the repository root, tags fetched)
# Writes OUTDIR/ref.json (what the tag means), OUTDIR/model.skops, OUTDIR/smoke.json.
set -euo pipefail
ref="${1:?usage: model-smoke.sh REF [OUTDIR]}"
out="${2:-model-smoke}"

name="$(gto check-ref "$ref" --name)"
if [ -z "$name" ]; then
  echo "error: '$ref' is not a GTO tag (expected NAME@vX.Y.Z or NAME#STAGE#N)" >&2
  exit 1
fi
event="$(gto check-ref "$ref" --event)"
case "$event" in
  registration | assignment) ;;
  *)
    echo "'$ref' is a $event event: nothing to test"
    exit 0
    ;;
esac
version="$(gto check-ref "$ref" --version)"
mkdir -p "$out"
gto check-ref "$ref" --json > "$out/ref.json"
echo "tag $ref: $event of $name $version $(gto check-ref "$ref" --stage)"

# By name and version, from the default DVC remote (credentials come from the environment).
dvc artifacts get . "$name" --rev "$version" --force -o "$out/model.skops"
mlpipe smoke-test --model "$out/model.skops" --output "$out/smoke.json"
