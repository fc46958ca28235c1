#!/usr/bin/env bash
# Scheduled monitoring: fetch a batch, run `mlpipe monitor` on it, and on an alert open or
# update ONE GitHub issue (label `monitoring`) whose body is the markdown report.
# Usage: monitor.sh BATCH [OUTDIR]   (run from the repository root, model + reference pulled)
#   BATCH: a URL `dvc get-url` understands (s3://bucket/key.parquet, with AWS_* credentials in
#          the environment) or a local path (e.g. a file in the checkout).
#   MONITOR_LABELS=true  the batch has the target column: also compare live metrics.
#   MLPIPE_S3_ENDPOINT   endpoint of an S3-compatible store for an s3:// batch (optional).
# Writes OUTDIR/monitor.json, OUTDIR/monitor.md, OUTDIR/monitor.png. Exit 0 when the verdict is
# ok or the alert was filed as an issue; `mlpipe monitor`'s own code (2) on bad input.
# Needs `gh` with GH_TOKEN (issues: write) only when there is an alert.
set -euo pipefail
batch="${1:?usage: monitor.sh BATCH [OUTDIR]}"
out="${2:-monitor}"
label="${MONITOR_ISSUE_LABEL:-monitoring}"
mkdir -p "$out"

if [[ "$batch" == *://* ]]; then
  name="$(basename "$batch")"
  fs_config=()
  if [[ "$batch" == s3://* && -n "${MLPIPE_S3_ENDPOINT:-}" ]]; then
    fs_config=(--fs-config "endpointurl=$MLPIPE_S3_ENDPOINT")
  fi
  # --fs-config takes any number of values: it must come after the positional arguments
  dvc get-url --force "$batch" "$out/$name" "${fs_config[@]}"
  batch="$out/$name"
fi

args=(--current "$batch" --output-json "$out/monitor.json" --output-md "$out/monitor.md"
  --output-png "$out/monitor.png")
if [ "${MONITOR_LABELS:-false}" = "true" ]; then
  args+=(--labels)
fi
code=0
mlpipe monitor "${args[@]}" || code=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "exit-code=$code" >> "$GITHUB_OUTPUT"
fi
case "$code" in
  0)
    echo "monitoring: ok, no issue needed"
    exit 0
    ;;
  3) ;;
  *) exit "$code" ;;
esac

# Alert: one open issue carries every alert; later alerts are comments on it.
number="$(gh issue list --label "$label" --state open --limit 1 --json number --jq '.[0].number // empty')"
if [ -n "$number" ]; then
  gh issue comment "$number" --body-file "$out/monitor.md"
  echo "monitoring: alert added to issue #$number"
else
  gh label create "$label" --color D93F0B --description "Model monitoring alerts" --force
  gh issue create --title "Model monitoring alert" --label "$label" --body-file "$out/monitor.md"
  echo "monitoring: alert filed as a new issue"
fi
