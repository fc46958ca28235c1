#!/usr/bin/env bash
# CI: get the pipeline's outputs without recomputing what is cached, then make them current.
#
# With credentials for the remote: select it, `dvc repro --pull` (pulls the run-cache and each
# stage's data from the remote; only stages whose results are nowhere to be found execute)
# and, when stages ran on a pull request from this repository, `dvc push --run-cache` so a
# reviewer gets the results with `dvc pull` / `dvc repro --pull` instead of recomputing them
# (a failed push, e.g. read-only keys, is a warning: the report and the gate still run).
# Without credentials (a fork's pull request gets no secrets): reproduce on the embedded data;
# never fail for lack of credentials.
#
# Environment (all optional):
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  credentials for an S3 remote (empty: none)
#   MLPIPE_S3_ENDPOINT  endpoint URL of an S3-compatible store (MinIO, Ceph, R2, ...)
#   MLPIPE_SAME_REPO    "true" when the pull request comes from this repository (may push)
#   MLPIPE_DVC_REMOTE   DVC remote to use (default: s3); a non-S3 remote needs no credentials
#   MLPIPE_BASE_REF     the base revision (default: origin/$GITHUB_BASE_REF on a pull request):
#                       its per-row test predictions (a DVC output) are fetched into the cache,
#                       so `mlpipe report` (a later step, without credentials) pairs the rows
# Credentials and the endpoint are never printed: no `set -x`, no `dvc -v`, no echo of them.
set -euo pipefail

remote="${MLPIPE_DVC_REMOTE:-s3}"
same_repo="${MLPIPE_SAME_REPO:-false}"

log() { echo "pipeline-outputs: $*"; }

# DVC's own connection errors print the endpoint URL: replace it in everything dvc prints.
mask() {
    if [[ -n "${MLPIPE_S3_ENDPOINT:-}" ]]; then
        MASK="$MLPIPE_S3_ENDPOINT" awk '{
            s = ENVIRON["MASK"]
            while ((i = index($0, s)) > 0) $0 = substr($0, 1, i - 1) "***" substr($0, i + length(s))
            print; fflush()
        }'
    else
        cat
    fi
}

url="$(dvc config "remote.${remote}.url" 2>/dev/null || true)"
if [[ -z "$url" ]]; then
    log "error: no DVC remote named '${remote}' (see 'dvc remote list'; MLPIPE_DVC_REMOTE selects one)" >&2
    exit 2
fi

use_remote=true
if [[ "$url" == s3://* ]]; then
    if [[ -z "${AWS_ACCESS_KEY_ID:-}" || -z "${AWS_SECRET_ACCESS_KEY:-}" ]]; then
        use_remote=false
        # Empty variables (how a fork's run sees secrets) would only confuse the AWS client.
        unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
        log "no credentials for remote '${remote}' (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY" \
            "empty, as on a fork's pull request): reproducing on the embedded data, no pull, no push"
    elif [[ "$url" == s3://your-bucket/* ]]; then
        log "error: remote '${remote}' still has the placeholder bucket: set yours with" \
            "'dvc remote modify ${remote} url s3://<bucket>/<prefix>' and commit .dvc/config" >&2
        exit 2
    elif [[ -n "${MLPIPE_S3_ENDPOINT:-}" ]]; then
        dvc remote modify --local "$remote" endpointurl "$MLPIPE_S3_ENDPOINT"
        log "remote '${remote}': endpoint taken from MLPIPE_S3_ENDPOINT (.dvc/config.local)"
    fi
fi

repro_args=()
if $use_remote; then
    # repro --pull reads the default remote: make it this one for this checkout only.
    dvc remote default --local "$remote"
    repro_args=(--pull)
    log "using remote '${remote}': pulling what is cached, running only what is not"
fi

repro_log="$(mktemp)"
trap 'rm -f "$repro_log"' EXIT
dvc repro "${repro_args[@]}" 2>&1 | mask | tee "$repro_log"
ran="$(sed -n "s/^Running stage '\([^']*\)'.*/\1/p" "$repro_log" | tr '\n' ' ' | sed 's/ $//')"
log "stages run: ${ran:-none}"

if [[ -z "$ran" ]]; then
    log "nothing to push: every output came from the cache or the remote"
elif ! $use_remote; then
    log "not pushing: no credentials for remote '${remote}'"
elif [[ "$same_repo" != "true" ]]; then
    log "not pushing: the pull request does not come from this repository (MLPIPE_SAME_REPO=${same_repo})"
elif dvc push --run-cache 2>&1 | mask; then
    log "pushed outputs and run-cache to remote '${remote}'"
else
    # Read-only keys can pull but not push: the report and the gate still run on these results.
    log "warning: could not push to remote '${remote}' (DVC's error above; pushing needs write" \
        "access): the report goes on, but 'dvc repro --pull' will recompute these stages" >&2
    echo "::warning::dvc push to remote '${remote}' failed: the PR's new results are not shared"
fi

# The base's per-row test predictions: DVC-cached, not in git; the report step has no credentials.
base_ref="${MLPIPE_BASE_REF:-${GITHUB_BASE_REF:+origin/$GITHUB_BASE_REF}}"
if [[ -z "$base_ref" ]]; then
    log "no base revision (MLPIPE_BASE_REF, GITHUB_BASE_REF): base predictions not fetched"
elif ! $use_remote; then
    log "base predictions of ${base_ref}: not fetched (no credentials for remote '${remote}');" \
        "the report reads them from the DVC cache if they are there"
elif mlpipe fetch-predictions --base "$base_ref" 2>&1 | mask; then
    log "base predictions of ${base_ref}: in the DVC cache"
else
    log "warning: could not fetch the per-row test predictions of ${base_ref} (above): the" \
        "report says so and judges the changes on their point values" >&2
fi

if ! git diff --quiet -- dvc.lock 2>/dev/null; then
    log "note: dvc.lock differs from the committed one: run 'dvc repro', commit dvc.lock and" \
        "the results, then 'dvc push' (a fresh clone then runs no stage at all)"
fi
