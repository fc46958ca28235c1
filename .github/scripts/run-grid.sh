#!/usr/bin/env bash
# Run an experiment grid with DVC's queue: one experiment per grid line, N at a time, then a
# markdown table of params and metrics (and, optionally, push the experiments back).
#
# The grid: one experiment per line (or per `;`-separated item), each a space-separated list of
# `-S` overrides of params.yaml, for example
#     train.hist_gradient_boosting.max_iter=300 train.hist_gradient_boosting.learning_rate=0.1
#     train.estimator=logistic_regression
# Blank lines and lines starting with `#` are skipped; a leading `-S` before an override is
# accepted. Values cannot contain spaces or `;`.
#
# Environment:
#   MLPIPE_GRID        the grid text (or MLPIPE_GRID_FILE: a file holding it)
#   MLPIPE_JOBS        experiments run in parallel: `dvc queue start --jobs N` (default 1)
#   MLPIPE_ROWS        optional: first run the pipeline in the workspace with
#                      `-S generate.rows=N` (one experiment, `<prefix>-base`), so every grid
#                      experiment starts from data of that size and reuses its stages
#   MLPIPE_EXP_PREFIX  experiment names are <prefix>-1, <prefix>-2, ... (default: grid-<time>)
#   MLPIPE_SUMMARY     file the markdown table is appended to (default: GITHUB_STEP_SUMMARY,
#                      else only printed)
#   MLPIPE_EXP_PUSH    optional git remote: `dvc exp push --run-cache <remote> <experiments>`
#                      (git refs to that remote, outputs and run records to the default DVC remote)
#   MLPIPE_POLL_SECONDS, MLPIPE_TIMEOUT_SECONDS  queue polling (default 10 s) and the longest
#                      wait for the queue, in wall-clock seconds (default 21600)
#   MLPIPE_WORKER_GRACE_SECONDS  how long experiments may wait in the queue with no worker
#                      alive before the workers are started again (once; the second time the
#                      run fails): default 90
#   MLPIPE_KILL_WAIT_SECONDS  on a timeout (or a queue without workers), how long to wait for
#                      this run's running experiments to be interrupted and end: default 300
#   OMP_NUM_THREADS    threads per experiment for OpenMP/BLAS (gradient boosting, numpy);
#                      default: the runner's cores / MLPIPE_JOBS (at least 1), so parallel
#                      experiments do not start one thread per core each and spin against
#                      each other (the MLPIPE_ROWS base run gets the same cap)
# Every item is checked before anything is queued: its keys must be in params.yaml and the
# result must pass mlpipe's params check (grid-check.py). If queueing still fails part-way,
# what this run queued is removed from the queue again.
# Workers: DVC's queue workers exit on their own once the queue is empty; the script never
# sends `dvc queue stop` (its shutdown broadcast stays in DVC's file broker and stops the next
# run's new worker right after it starts). If this run's experiments wait with no worker alive
# (`Worker status: 0 active, 0 idle`), the workers are started again once, then the run fails.
# A worker busy when its monitor asks misses its own shutdown (the request expires after 1 s)
# and would wait for tasks forever: once no task is queued or running, the script stops the
# checkout's workers that are left (SIGTERM, Celery's warm shutdown; nothing stays in the
# broker) and waits until they have exited. The workers never get the script's stdout or
# stderr (a leftover one would keep a CI step, or whatever reads this output, waiting).
# On a timeout or that failure, this run's queued experiments are removed and its running ones
# interrupted, and the script waits until they have ended, so that nothing of it runs later.
# Push: an experiment counts as pushed only if the git remote then has its ref at the same
# commit; `dvc exp push` skips (and exits 0) when the remote has a different experiment of that
# name, and run-grid.sh then fails (exit 1) naming it.
# Exit status: 0 all experiments succeeded (and, with MLPIPE_EXP_PUSH, are on the remote);
# 1 some failed (their logs are printed, the table lists them), queueing failed, the queue
# timed out or had no worker, or an experiment was not pushed; 2 bad input (nothing queued).
set -euo pipefail

log() { echo "run-grid: $*"; }
fail() {
    echo "run-grid: error: $*" >&2
    exit 2
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jobs="${MLPIPE_JOBS:-1}"
rows="${MLPIPE_ROWS:-}"
poll="${MLPIPE_POLL_SECONDS:-10}"
timeout="${MLPIPE_TIMEOUT_SECONDS:-21600}"
grace="${MLPIPE_WORKER_GRACE_SECONDS:-90}"
kill_wait="${MLPIPE_KILL_WAIT_SECONDS:-300}"
prefix="${MLPIPE_EXP_PREFIX:-grid-$(date -u +%Y%m%d-%H%M%S)}"
summary="${MLPIPE_SUMMARY:-${GITHUB_STEP_SUMMARY:-}}"

[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || fail "MLPIPE_JOBS must be a positive integer, got '${jobs}'"
[[ -z "$rows" || "$rows" =~ ^[1-9][0-9]*$ ]] ||
    fail "MLPIPE_ROWS must be a positive integer (or empty), got '${rows}'"
for setting in "MLPIPE_POLL_SECONDS=${poll}" "MLPIPE_TIMEOUT_SECONDS=${timeout}" \
    "MLPIPE_WORKER_GRACE_SECONDS=${grace}" "MLPIPE_KILL_WAIT_SECONDS=${kill_wait}"; do
    [[ "${setting#*=}" =~ ^[0-9]+$ ]] ||
        fail "${setting%%=*} must be a whole number of seconds, got '${setting#*=}'"
done
[[ "$prefix" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
    fail "MLPIPE_EXP_PREFIX may hold letters, digits, '_', '.', '-' only, got '${prefix}'"

if [[ -n "${MLPIPE_GRID_FILE:-}" ]]; then
    [[ -f "$MLPIPE_GRID_FILE" ]] || fail "grid file '${MLPIPE_GRID_FILE}' not found"
    grid="$(cat "$MLPIPE_GRID_FILE")"
else
    grid="${MLPIPE_GRID:-}"
fi

# Parse and check every line before queueing anything.
specs=()   # one entry per experiment: its overrides, space-separated
items=()   # the grid item number of each
lineno=0
while IFS= read -r line || [[ -n "$line" ]]; do
    lineno=$((lineno + 1))
    line="${line%$'\r'}"
    read -ra words <<<"$line"
    [[ ${#words[@]} -eq 0 || "${words[0]}" == \#* ]] && continue
    overrides=()
    for word in "${words[@]}"; do
        [[ "$word" == "-S" ]] && continue
        if [[ ! "$word" =~ ^[A-Za-z_][A-Za-z0-9_.]*(\[[0-9]+\][A-Za-z0-9_.]*)*=.+$ ]]; then
            fail "grid item ${lineno}: '${word}' is not a params override; write" \
                "key=value, e.g. train.estimator=logistic_regression"
        fi
        overrides+=("$word")
    done
    [[ ${#overrides[@]} -gt 0 ]] || fail "grid item ${lineno} has no override"
    specs+=("${overrides[*]}")
    items+=("$lineno")
done < <(tr ';' '\n' <<<"$grid")
[[ ${#specs[@]} -gt 0 ]] ||
    fail "empty grid: set MLPIPE_GRID (or MLPIPE_GRID_FILE), one experiment per line, e.g." \
        "'train.estimator=logistic_regression'"

# Every item's keys and values, applied to a copy of params.yaml as `dvc exp run -S` would
# and loaded with mlpipe's params check (unknown keys, wrong types, out-of-range values).
check_args=()
[[ -n "$rows" ]] && check_args+=(--base "generate.rows=${rows}" --base-label MLPIPE_ROWS)
for k in "${!specs[@]}"; do check_args+=(--item "grid item ${items[$k]}" "${specs[$k]}"); done
check_rc=0
python "${here}/grid-check.py" "${check_args[@]}" || check_rc=$?
if [[ "$check_rc" -ne 0 ]]; then
    echo "run-grid: error: nothing was queued; fix the grid and run again" >&2
    exit 2
fi

# Cap the threads before the first `dvc exp run` (the MLPIPE_ROWS base run is the biggest).
if [[ -z "${OMP_NUM_THREADS:-}" ]]; then
    threads=$(($(nproc) / jobs))
    [[ "$threads" -ge 1 ]] || threads=1
    export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
fi

names=()
if [[ -n "$rows" ]]; then
    log "running the pipeline at generate.rows=${rows} in the workspace (${prefix}-base)," \
        "OMP_NUM_THREADS=${OMP_NUM_THREADS}"
    dvc exp run --name "${prefix}-base" -S "generate.rows=${rows}"
    names+=("${prefix}-base")
fi

# This run's tasks in the queue are known by id: the ones that were not in the queue before
# and carry one of our names (someone else's task may have the same name).
queued=()
tasks_before="$(dvc queue status | awk 'NR > 1 && NF >= 3 {print $1}')"
ours() {  # ours STATE <<<"$status": "id name" of this run's tasks in that state
    awk -v before=" ${tasks_before//$'\n'/ } " -v ours=" ${queued[*]} " -v state="$1" \
        'NR > 1 && $NF == state && index(ours, " " $2 " ") && !index(before, " " $1 " ") {
            print $1, $2 }'
}
# Take back what this run queued (after a queueing failure part-way, a timeout, or a queue
# without workers), so that the next `dvc queue start` does not run half a grid.
# A worker may start one of them between the status and the remove; DVC then removes none
# ("not a valid experiment name"): read the status again and remove what is still queued (the
# started one is interrupted by abandon).
unqueue() {
    [[ ${#queued[@]} -gt 0 ]] || return 0
    local found ids=() names=() err=""
    for _ in 1 2 3; do
        found="$(dvc queue status | ours Queued)"
        [[ -n "$found" ]] || return 0
        mapfile -t ids < <(cut -d' ' -f1 <<<"$found")
        mapfile -t names < <(cut -d' ' -f2 <<<"$found")
        if err="$(dvc queue remove "${ids[@]}" 2>&1 >/dev/null)"; then
            log "removed the experiment(s) this run had queued: ${names[*]}"
            return 0
        fi
    done
    log "error: could not remove ${names[*]} from the queue (DVC: ${err}): run 'dvc queue" \
        "remove ${ids[*]}'" >&2
}
# Unqueue this run's waiting experiments first (killing a running one frees its worker, which
# would take the next one), then interrupt the running ones (`dvc queue kill`, like Ctrl-C) and
# wait until none of them runs, so that nothing of this run goes on after the script exits.
# A task a worker has only just taken has no experiment process yet: `dvc queue kill` then
# finds nothing to signal and (when the worker does not list the task yet) marks it failed
# while the worker goes on to run it. So a task is killed only once `dvc queue logs` finds its
# process, and the status is read again until it has ended. The end says what happened to
# each: interrupted, or finished (or failed) on its own before it could be.
abandon() {
    local found status id name ids=() deadline=$((SECONDS + kill_wait))
    local -A seen=() killed=()
    unqueue
    while true; do
        status="$(dvc queue status)"
        found="$(ours Running <<<"$status")"
        [[ -n "$found" ]] || break
        if [[ "$SECONDS" -ge "$deadline" ]]; then
            mapfile -t ids < <(cut -d' ' -f1 <<<"$found")
            log "error: $(cut -d' ' -f2 <<<"$found" | paste -sd' ') still running" \
                "${kill_wait} s after this run began stopping its experiments" \
                "(MLPIPE_KILL_WAIT_SECONDS); run 'dvc queue kill ${ids[*]}'" >&2
            return 0
        fi
        while read -r id name; do
            seen[$id]="$name"
            [[ -z "${killed[$id]:-}" ]] || continue
            # its process exists (else there is nothing to signal yet): interrupt it
            if dvc queue logs "$id" >/dev/null 2>&1 && dvc queue kill "$id" >/dev/null 2>&1; then
                killed[$id]=1
            fi
        done <<<"$found"
        sleep 2
    done
    [[ ${#seen[@]} -gt 0 ]] || return 0
    local interrupted=() finished=() failed=() state
    for id in "${!seen[@]}"; do
        state="$(awk -v id="$id" 'NR > 1 && $1 == id {print $NF}' <<<"$status")"
        if [[ "$state" == Success ]]; then
            finished+=("${seen[$id]}")
        elif [[ -n "${killed[$id]:-}" ]]; then
            interrupted+=("${seen[$id]}")
        else
            failed+=("${seen[$id]}")
        fi
    done
    [[ ${#interrupted[@]} -eq 0 ]] ||
        log "interrupted the experiment(s) this run had running: $(sort_words "${interrupted[@]}")"
    [[ ${#finished[@]} -eq 0 ]] ||
        log "finished before it could be interrupted: $(sort_words "${finished[@]}")"
    [[ ${#failed[@]} -eq 0 ]] ||
        log "failed before it could be interrupted: $(sort_words "${failed[@]}")"
}
sort_words() { printf '%s\n' "$@" | sort | paste -sd' '; }

# `dvc queue start` daemonizes the workers, and they inherit its stdout and stderr: they get a
# file, printed once it returns, so that no worker holds this script's output open.
start_workers() {
    local out rc=0
    out="$(mktemp)"
    dvc queue start --jobs "$jobs" </dev/null >"$out" 2>&1 || rc=$?
    cat "$out"
    rm -f "$out"
    return "$rc"
}

# This checkout's queue workers that have not ended, from dvc-task's records
# (.dvc/tmp/exps/celery/dvc-exp-worker-N.json: the worker's pid, and its returncode, written
# once the process has ended): "pid" lines; with "running", only those whose process is still
# that worker (not a reused process id).
live_workers() {
    local record pid
    for record in .dvc/tmp/exps/celery/dvc-exp-worker-*.json; do
        [[ -f "$record" ]] || continue
        grep -q '"returncode": null' "$record" || continue
        pid="$(sed -n 's/.*"pid": \([0-9][0-9]*\).*/\1/p' "$record")"
        [[ -n "$pid" ]] || continue
        # -ww: the whole command line; without it, ps cuts it at $COLUMNS where that is set.
        if [[ "${1:-}" != running ]] ||
            ps -ww -o command= -p "$pid" 2>/dev/null | grep -q 'queue-worker'; then
            echo "$pid"
        fi
    done
    return 0
}

# Once no task at all is queued or running, stop the workers still alive and wait until their
# records say they have ended (up to MLPIPE_KILL_WAIT_SECONDS): see "Workers" in the header.
stop_idle_workers() {
    local status pids=() left deadline=$((SECONDS + kill_wait))
    status="$(dvc queue status)"
    if awk 'NR > 1 && ($NF == "Queued" || $NF == "Running") {busy = 1} END {exit !busy}' \
        <<<"$status"; then
        return 0
    fi
    mapfile -t pids < <(live_workers running)
    [[ ${#pids[@]} -gt 0 ]] || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    while true; do
        left="$(live_workers | grep -xF -f <(printf '%s\n' "${pids[@]}") | paste -sd' ' || true)"
        [[ -n "$left" ]] || break
        if [[ "$SECONDS" -ge "$deadline" ]]; then
            log "error: queue worker process(es) ${left} not ended ${kill_wait} s after" \
                "SIGTERM; stop them with 'kill ${left}'" >&2
            return 0
        fi
        sleep 0.5
    done
    log "stopped ${#pids[@]} idle queue worker(s) (the queue is empty)"
}

i=0
for spec in "${specs[@]}"; do
    i=$((i + 1))
    read -ra overrides <<<"$spec"
    args=()
    for o in "${overrides[@]}"; do args+=(-S "$o"); done
    log "queueing ${prefix}-${i}: ${spec}"
    if ! dvc exp run --queue --name "${prefix}-${i}" "${args[@]}"; then
        echo "run-grid: error: could not queue ${prefix}-${i} (grid item ${items[$((i - 1))]}:" \
            "${spec}); DVC's message is above" >&2
        unqueue
        exit 1
    fi
    queued+=("${prefix}-${i}")
    names+=("${prefix}-${i}")
done

log "running ${#specs[@]} experiment(s), ${jobs} at a time, OMP_NUM_THREADS=${OMP_NUM_THREADS} each"
if ! start_workers; then
    echo "run-grid: error: dvc queue start failed; DVC's message is above" >&2
    unqueue
    exit 1
fi
# `dvc queue start` returns at once (the workers run in the background): wait until none of
# our experiments is queued or running. The workers exit on their own once the queue is
# empty (those that miss it are stopped at the end); no `dvc queue stop` (see the header).
# Time is wall-clock time, `dvc queue status` included.
started=$SECONDS
restarted=0
no_worker_since=-1
while true; do
    status="$(dvc queue status)"
    waiting="$(ours Queued <<<"$status" | wc -l)"
    running="$(ours Running <<<"$status" | wc -l)"
    [[ $((waiting + running)) -eq 0 ]] && break
    if [[ $((SECONDS - started)) -ge "$timeout" ]]; then
        echo "$status"
        log "error: experiments still queued or running after $((SECONDS - started)) s" \
            "(MLPIPE_TIMEOUT_SECONDS=${timeout}); stopping this run's experiments" >&2
        abandon
        stop_idle_workers
        exit 1
    fi
    # Queued, none of ours running, and no worker at all: nothing will ever run them.
    if [[ "$running" -eq 0 ]] && grep -q '^Worker status: 0 active, 0 idle' <<<"$status"; then
        [[ "$no_worker_since" -ge 0 ]] || no_worker_since=$SECONDS
        if [[ $((SECONDS - no_worker_since)) -ge "$grace" ]]; then
            if [[ "$restarted" -eq 0 ]]; then
                log "${waiting} experiment(s) queued but no queue worker alive for" \
                    "$((SECONDS - no_worker_since)) s; starting the workers again"
                start_workers || true
                restarted=1
                no_worker_since=-1
            else
                echo "$status"
                log "error: ${waiting} experiment(s) queued but no queue worker alive, even" \
                    "after starting the workers again; the workers' logs are in" \
                    ".dvc/tmp/exps/celery/dvc-exp-worker-*.out. Stopping this run's" \
                    "experiments" >&2
                abandon
                stop_idle_workers
                exit 1
            fi
        fi
    else
        no_worker_since=-1
    fi
    sleep "$poll"
done
echo "$status"
stop_idle_workers

failed=()
for name in "${names[@]}"; do
    if awk -v n="$name" '$2 == n && $NF == "Failed" {found = 1} END {exit !found}' <<<"$status"
    then
        failed+=("$name")
        log "experiment ${name} failed; its log:"
        dvc queue logs "$name" || true
    fi
done

table="$(mktemp)"
trap 'rm -f "$table"' EXIT
spec_args=()
[[ -n "$rows" ]] && spec_args+=(--experiment "${prefix}-base" "generate.rows=${rows}")
i=0
for spec in "${specs[@]}"; do
    i=$((i + 1))
    spec_args+=(--experiment "${prefix}-${i}" "$spec")
done
summary_rc=0
dvc exp show --json --hide-queued --hide-workspace |
    python "${here}/grid-summary.py" "${spec_args[@]}" >"$table" || summary_rc=$?
cat "$table"
[[ -n "$summary" ]] && cat "$table" >>"$summary"
[[ "$summary_rc" -le 1 ]] || exit "$summary_rc"

not_pushed=()
if [[ -n "${MLPIPE_EXP_PUSH:-}" ]]; then
    ok=()
    for name in "${names[@]}"; do
        [[ " ${failed[*]} " == *" ${name} "* ]] || ok+=("$name")
    done
    default_remote="$(dvc remote default 2>/dev/null || true)"
    url="$(dvc config "remote.${default_remote}.url" 2>/dev/null || true)"
    if [[ -n "$default_remote" && -n "$url" && "$url" != *://* ]]; then
        # dvc exp push reads each experiment's committed .dvc/config and resolves a relative
        # local remote (../../mlpipe-dvc-remote) against the git tree's root (/mlpipe-dvc-remote).
        # Pin the path this checkout resolves to, in .dvc/config.local (wins over the tree's).
        dvc remote modify --local "$default_remote" url "$url"
        log "DVC remote '${default_remote}' pinned to ${url} in .dvc/config.local for the push"
    fi
    if [[ ${#ok[@]} -gt 0 ]]; then
        push_rc=0
        dvc exp push --run-cache "$MLPIPE_EXP_PUSH" "${ok[@]}" || push_rc=$?
        # `dvc exp push` exits 0 when it skips an experiment whose name the remote has for
        # another commit ("diverged", "No experiments to push"): check every ref on the remote.
        baseline="$(git rev-parse HEAD)"
        pushed=()
        for name in "${ok[@]}"; do
            ref="refs/exps/${baseline:0:2}/${baseline:2}/${name}"
            mine="$(git rev-parse -q --verify "$ref" || true)"
            theirs="$(git ls-remote "$MLPIPE_EXP_PUSH" "$ref" | cut -f1 || true)"
            if [[ -n "$mine" && "$mine" == "$theirs" ]]; then
                pushed+=("$name")
            elif [[ -n "$theirs" ]]; then
                not_pushed+=("$name")
                log "error: ${name} was NOT pushed: git remote '${MLPIPE_EXP_PUSH}' already has" \
                    "a different experiment of that name (${theirs:0:7}, this one is" \
                    "${mine:0:7}); run the grid again with another MLPIPE_EXP_PREFIX, or" \
                    "replace the remote's: dvc exp push --force --run-cache" \
                    "${MLPIPE_EXP_PUSH} ${name}" >&2
            else
                not_pushed+=("$name")
                log "error: ${name} was NOT pushed: git remote '${MLPIPE_EXP_PUSH}' has no" \
                    "${ref} after \`dvc exp push\` (exit ${push_rc}; its message is above)" >&2
            fi
        done
        [[ ${#pushed[@]} -eq 0 ]] ||
            log "pushed ${pushed[*]} to git remote '${MLPIPE_EXP_PUSH}' (outputs to the default" \
                "DVC remote)"
    fi
fi

[[ ${#not_pushed[@]} -eq 0 ]] || log "experiment(s) not pushed: ${not_pushed[*]}"
if [[ ${#failed[@]} -gt 0 || "$summary_rc" -ne 0 ]]; then
    log "failed experiment(s): ${failed[*]:-see the table}"
    exit 1
fi
[[ ${#not_pushed[@]} -eq 0 ]] || exit 1
log "all ${#names[@]} experiment(s) succeeded"
