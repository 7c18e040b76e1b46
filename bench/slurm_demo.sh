#!/usr/bin/env bash
# A search sharded on a real Slurm (job arrays) equals the same search run in one process.
#
#   sudo bench/slurm_demo.sh [SPEC] [SHARDS]     (default: examples/specs/diabetes_grid.toml, 4)
#
# Sets up a single-node Slurm on this machine for the duration of the script:
#   1. installs the Debian packages munge, slurmctld, slurmd and slurm-client if a command is
#      missing (apt-get: the only network access of the script; everything else is
#      127.0.0.1), without letting the packages start their services;
#   2. writes a private slurm.conf (node `localhost` = 127.0.0.1 with this machine's CPUs and
#      memory, one partition, no cgroups: proctrack/linuxproc, task/none, no accounting) and a
#      private munge key under $SLURM_DEMO_DIR (default /var/tmp/mlp-tune-slurm), and starts
#      munged, slurmctld and slurmd there as plain processes (no systemd needed); the daemons
#      bind 127.0.0.1 only (CommunicationParameters=NoInAddrAny,NoCtldInAddrAny), ports $SLURM_DEMO_PORT and
#      the next one (default 6817, 6818); nothing is written to /etc;
#   3. runs `mlp-tune run SPEC` in one folder (the reference), and in another, all on Slurm:
#      a `mlp-tune plan` job, then per round a job array `--array=0-(SHARDS-1)` running
#      `mlp-tune shard --index $SLURM_ARRAY_TASK_ID --count SHARDS` and a job
#      `--dependency=afterok:<array>` running `mlp-tune plan` (exit 3: another round),
#      and at the end a `mlp-tune merge` job;
#   4. compares the two results as bench/shard_parallel.sh does: cv_results without the
#      timing columns, the best candidate and score, the test score and the refitted model
#      (model.json, byte for byte). Exits non-zero on any difference.
# On exit (also on failure or Ctrl-C) it cancels its jobs, stops the daemons it started and
# removes its folder (SLURM_DEMO_KEEP=1 keeps it). Rerunning is safe: daemons left by
# an earlier run that was killed (kill -9) and its waiting sbatch processes are found by
# their pid files in $SLURM_DEMO_DIR and stopped first, its folder removed. The
# packages stay installed; `apt-get purge munge slurmctld slurmd slurm-client` removes them.
# Needs root (slurmd runs jobs as their submitting user; here root) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-examples/specs/diabetes_grid.toml}
shards=${2:-4}
state=${SLURM_DEMO_DIR:-/var/tmp/mlp-tune-slurm}
ctld_port=${SLURM_DEMO_PORT:-6817}
slurmd_port=$((ctld_port + 1))
[ -f "$spec" ] || { echo "no spec file $spec"; exit 2; }
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "SHARDS must be a positive number, not $shards"; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: it installs packages and starts slurmd"; exit 2; }
[[ $state == /?*/?* ]] || { echo "SLURM_DEMO_DIR must be an absolute path two levels deep, not $state"; exit 2; }
# The folder is ours (and may be removed) only if empty or marked by an earlier run.
marker=$state/.made-by-slurm_demo
log() { echo "[slurm_demo $(date +%T)] $*"; }

# --- 1. packages -------------------------------------------------------------------------
missing=()
for c in munged slurmctld slurmd sbatch; do command -v "$c" >/dev/null || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "missing ${missing[*]}: apt-get install munge slurmctld slurmd slurm-client"
  # Packages must not start their services (no policy at all on a bare system: add one
  # for the install only).
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      munge slurmctld slurmd slurm-client
  }
  apt_install || { apt-get update -q && apt_install; } || status=$?
  [ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ "${status:-0}" -eq 0 ] || { echo "apt-get install failed"; exit 1; }
else
  log "Slurm and munge are installed: $(slurmctld -V), munge $(munged -V 2>&1 | awk '{print $1}')"
fi

# --- 2. daemons --------------------------------------------------------------------------
# The daemons (and the `sbatch --wait` processes) run as children of this script; their
# pids go to $state/run/NAME.pid. A pid is ours only if its command line names $state.
ours() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null | grep -qF "$state/"; }
stop_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid"; then
    log "stopping $(cat "/proc/$pid/comm") (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do ours "$pid" || break; sleep 0.2; done
    ours "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}
stop_daemons() {
  for f in "$state"/run/sbatch-*.pid; do stop_pidfile "$f"; done
  stop_pidfile "$state/run/slurmd.pid"
  stop_pidfile "$state/run/slurmctld.pid"
  stop_pidfile "$state/run/munged.pid"
}
if [ -e "$state" ] && [ ! -e "$marker" ] && [ -n "$(ls -A "$state" 2>/dev/null || echo x)" ]; then
  echo "$state exists and was not made by this script: set SLURM_DEMO_DIR to a new folder"
  exit 2
fi
if [ -e "$marker" ]; then
  log "an earlier run left $state: stopping its daemons, removing it"
  stop_daemons
  rm -rf "$state"
fi

work=$state/work   # job scripts' logs, journals, results: removed with $state
jobs_submitted=()
cleanup() {
  local code=$?
  set +e
  if [ ${#jobs_submitted[@]} -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
    scancel "${jobs_submitted[@]}" 2>/dev/null
    sleep 1
  fi
  stop_daemons
  if [ -n "${SLURM_DEMO_KEEP:-}" ]; then
    log "kept $state: daemon logs; $work: job logs, journals, results"
  elif [ -e "$marker" ]; then
    rm -rf "$state"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for port in "$ctld_port" "$slurmd_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is taken (a Slurm already running?); set SLURM_DEMO_PORT"
    exit 1
  fi
done

# munged wants its key private and its socket's folder searchable by all.
mkdir -p "$state"
touch "$marker"
mkdir -p "$state"/{munge,key,ctld,spool,run,work}
chmod 755 "$state" "$state/munge"
chmod 700 "$state/key"
log "munge key and socket in $state/munge (a private munged; the system's is untouched)"
dd if=/dev/urandom of="$state/key/munge.key" bs=1024 count=1 status=none
chmod 400 "$state/key/munge.key"
munged -F --key-file="$state/key/munge.key" --socket="$state/munge/munge.socket" \
  --pid-file="$state/munged.pid" --log-file="$state/munged.log" \
  --seed-file="$state/key/munge.seed" > "$state/munged.out" 2>&1 &
echo $! > "$state/run/munged.pid"
for _ in $(seq 50); do [ -S "$state/munge/munge.socket" ] && break; sleep 0.2; done
if ! munge -n -S "$state/munge/munge.socket" | unmunge -S "$state/munge/munge.socket" > /dev/null; then
  echo "munged does not work:"; tail -n 20 "$state/munged.out" "$state/munged.log" 2>/dev/null
  exit 1
fi

cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
export SLURM_CONF=$state/slurm.conf
log "slurm.conf: node localhost (127.0.0.1) CPUs=$cpus RealMemory=$mem_mb, ports $ctld_port/$slurmd_port"
cat > "$SLURM_CONF" <<EOF
# Written by bench/slurm_demo.sh: a single-node Slurm on 127.0.0.1, for this run only.
ClusterName=mlptune
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
# No cgroups, no accounting: runs in a container or a small VM.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
# Schedule a job at once (not after the default 3 s); kill_invalid_depend should cancel a job
# whose dependency can never be met, but 22.05 leaves it pending (the script cancels it).
SchedulerParameters=kill_invalid_depend,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
# sbatch --wait polls after 2 s, then 8 s, then every 32 s while the interval is under
# MinJobAge/2: MinJobAge=5 keeps it at 2 s (a finished job stays listed 5 s, > 2 s).
MinJobAge=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=demo Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
log "starting slurmctld and slurmd"
slurmctld -D -c -f "$SLURM_CONF" > "$state/slurmctld.out" 2>&1 &
echo $! > "$state/run/slurmctld.pid"
slurmd -D -N localhost -f "$SLURM_CONF" > "$state/slurmd.out" 2>&1 &
echo $! > "$state/run/slurmd.pid"
node=
for _ in $(seq 100); do
  node=$(sinfo -h -N -o '%t' 2>/dev/null || true)
  [ "$node" = idle ] && break
  sleep 0.3
done
if [ "$node" != idle ]; then
  echo "Slurm did not come up (node state: '${node:-no answer}'):"
  for f in slurmctld.out slurmctld.log slurmd.out slurmd.log; do
    echo "--- $f"; tail -n 15 "$state/$f" 2>/dev/null
  done
  exit 1
fi
log "Slurm is up: $(sinfo -h -o '%P %D node(s) %C CPUs (alloc/idle/other/total) %t')"

# --- 3. the search, once here and sharded on Slurm ---------------------------------------
log "building mlp-tune (nice -n 10)"
nice -n 10 cargo build --release --bin mlp-tune --quiet
bin=$PWD/target/release/mlp-tune
mkdir "$work/one" "$work/sharded" "$work/logs"
cp "$spec" "$work/one/spec.toml"
cp "$spec" "$work/sharded/spec.toml"
sharded=$work/sharded/spec.toml

log "reference: mlp-tune run $spec (one process, here)"
t0=$(date +%s.%N)
nice -n 10 "$bin" run "$work/one/spec.toml" --quiet --out "$work/one/results" | tail -n 1
t_run=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")

# A job's state and exit code, from the controller (completed jobs stay listed MinJobAge).
job_states() {
  scontrol -o show job "$1" | awk '{ for (i = 1; i <= NF; i++) {
      if ($i ~ /^JobState=/) s = substr($i, 10); if ($i ~ /^ExitCode=/) e = substr($i, 10) }
    n[s " exit " e]++ } END { for (k in n) printf "%d task(s) %s; ", n[k], k }'
}
# Submits a job with `sbatch --wait` and waits for it: sets $last_job (its id) and
# $last_code (its exit code; sbatch --wait exits with the job's code).
submit_wait() {
  local name=$1; shift
  set +e
  last_job=$(sbatch --parsable --wait --job-name="$name" --output="$work/logs/$name-%j.out" \
    --error="$work/logs/$name-%j.err" "$@")
  last_code=$?
  set -e
  last_job=${last_job%%;*}
  [ -n "$last_job" ] || { echo "sbatch did not submit the $name job"; exit 1; }
  jobs_submitted+=("$last_job")
}
# Submits a job with `sbatch --wait` in the background: sets $bg_job (its id, printed at
# submission) and $bg_pid (the waiting sbatch); `finished PID` then waits for it and sets
# $code to the job's exit code (for an array: the highest of its tasks').
submit_bg() {
  local tag=$1; shift
  : > "$work/$tag.id"
  sbatch --parsable --wait "$@" > "$work/$tag.id" 2> "$work/logs/sbatch-$tag.err" &
  bg_pid=$!
  echo "$bg_pid" > "$state/run/sbatch-$bg_pid.pid"
  for _ in $(seq 300); do [ -s "$work/$tag.id" ] && break; sleep 0.1; done
  bg_job=$(cut -d';' -f1 < "$work/$tag.id")
  [ -n "$bg_job" ] || { echo "sbatch did not submit the $tag job:"; cat "$work/logs/sbatch-$tag.err"; exit 1; }
  jobs_submitted+=("$bg_job")
}
finished() { code=0; wait "$1" || code=$?; rm -f "$state/run/sbatch-$1.pid"; }
elapsed() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }

log "sharded: $shards shards per round on Slurm; spec folder $work/sharded"
t0=$(date +%s.%N)
submit_wait plan --wrap "exec nice -n 10 '$bin' plan '$sharded'"
rounds=0
while [ "$last_code" -eq 3 ]; do
  rounds=$((rounds + 1))
  log "round $rounds: plan job $last_job says $(tail -n 1 "$work/logs/plan-$last_job.out")"
  t_round=$(date +%s.%N)
  submit_bg array --job-name=shard --array="0-$((shards - 1))" \
    --output="$work/logs/shard-%A_%a.out" --error="$work/logs/shard-%A_%a.err" \
    --wrap "exec nice -n 10 '$bin' shard '$sharded' --index \$SLURM_ARRAY_TASK_ID --count $shards"
  array=$bg_job array_pid=$bg_pid
  submit_bg plan --job-name=plan --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$work/logs/plan-%j.out" --error="$work/logs/plan-%j.err" \
    --wrap "exec nice -n 10 '$bin' plan '$sharded'"
  plan=$bg_job plan_pid=$bg_pid
  log "round $rounds: sbatch --wait --array=0-$((shards - 1)): job array $array;" \
    "sbatch --wait --dependency=afterok:$array: plan job $plan"
  finished "$array_pid"
  array_code=$code
  log "round $rounds: array $array done, exit $array_code ($(job_states "$array"))" \
    "$(elapsed "$t_round") s"
  for f in "$work/logs/shard-${array}_"*.out; do sed 's/^/    /' "$f"; done
  if [ "$array_code" -ne 0 ]; then
    # Slurm 22.05 leaves the dependent job pending (DependencyNeverSatisfied) although
    # kill_invalid_depend and --kill-on-invalid-dep are set: cancel it here.
    scancel "$plan"
    finished "$plan_pid"
    echo "round $rounds: a shard failed; plan job $plan cancelled. Shard errors:"
    for f in "$work/logs/shard-${array}_"*.err; do echo "--- $f"; cat "$f"; done
    exit 1
  fi
  last_job=$plan
  finished "$plan_pid"
  last_code=$code
  log "round $rounds: plan job $last_job exit $last_code; round time $(elapsed "$t_round") s"
  if [ "$last_code" -ne 0 ] && [ "$last_code" -ne 3 ]; then
    echo "plan job $last_job failed ($last_code):"; cat "$work/logs/plan-$last_job.err"
    exit 1
  fi
done
[ "$last_code" -eq 0 ] || { echo "plan job $last_job failed ($last_code):"; cat "$work/logs/plan-$last_job.err"; exit 1; }
log "plan job $last_job: search complete: $(tail -n 1 "$work/logs/plan-$last_job.out")"
submit_wait merge --wrap "exec nice -n 10 '$bin' merge '$sharded' --out '$work/sharded/results'"
[ "$last_code" -eq 0 ] || { echo "merge job $last_job failed ($last_code):"; cat "$work/logs/merge-$last_job.err"; exit 1; }
tail -n 1 "$work/logs/merge-$last_job.out"
t_slurm=$(elapsed "$t0")

# --- 4. compare ----------------------------------------------------------------------------
python3 - "$work/one/results" "$work/sharded/results" <<'PY'
import json, sys
one, sharded = sys.argv[1], sys.argv[2]
a = json.load(open(f"{one}/cv_results.json"))
b = json.load(open(f"{sharded}/cv_results.json"))
bad = [k for k in a if "time" not in k and a[k] != b[k]]
ra = json.load(open(f"{one}/result.json"))
rb = json.load(open(f"{sharded}/result.json"))
bad += [k for k in ("best_params", "best_score", "test_score") if ra[k] != rb[k]]
if open(f"{one}/model.json").read() != open(f"{sharded}/model.json").read():
    bad.append("model.json")
if bad:
    sys.exit(f"Slurm-sharded run differs from one process in: {bad}")
print(f"Slurm-sharded == one process: cv_results ({len(a['params'])} rows, timings aside), best, test score, refitted model")
PY
echo "rounds: $rounds, shards per round: $shards, Slurm jobs: ${#jobs_submitted[@]} submissions;" \
  "one process: ${t_run} s, on Slurm (plan + rounds + merge): ${t_slurm} s"
