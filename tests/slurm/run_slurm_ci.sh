#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A real single-node Slurm for CI (ctest test_slurm_ci, label slurm): writes a slurm.conf for this
# host into a temporary folder (loopback, its own ports, state, spool, logs and munge socket there;
# proctrack/linuxproc, task/none, no cgroups, SlurmUser = the current user), starts munged,
# slurmctld and slurmd in the background, and then
#   1. submits tests/slurm/ci_sweep.yaml with `kvbench slurm --array-size 3`, waits for the array
#      and checks that the merged run store equals a single-process `kvbench run` of the same sweep
#      (same cells, every sample once, same predictions, scores and metrics);
#   2. submits it again into a fresh folder, kills array task 1's kvbench with SIGKILL once it has
#      recorded 2 samples, checks that the array ends with task 1 failed and the store partial, and
#      that a resubmission (`kvbench slurm` again) completes it: the rows recorded before the kill
#      are kept byte for byte, nothing is lost or duplicated, and the result equals the single run;
#   3. submits with --max-requeues 1 into a third folder and kills task 1 the same way: the task
#      requeues itself (Slurm holds it 120 s) and completes, equal to the single run.
# Everything it started is stopped on exit. Exit 77 (skipped) when the Slurm or munge binaries are
# missing (scripts/setup.sh installs Debian's slurmctld, slurmd and munge).
# Environment: KVBENCH_BINARY, KVBENCH_SOURCE_DIR, KVBENCH_DATA_DIR, KVBENCH_PYTHON (as ctest sets
# them); KVBENCH_SLURM_KEEP=1 keeps the temporary folder.
set -uo pipefail
src="${KVBENCH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
kvbench="${KVBENCH_BINARY:-$src/build/kvbench}"
py="${KVBENCH_PYTHON:-python3}"
data="${KVBENCH_DATA_DIR:-$src/../shared/data}"
log() { printf '[slurm-ci] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
  command -v "$tool" >/dev/null || { log "skipped: $tool is not installed (scripts/setup.sh installs slurmctld slurmd munge)"; exit 77; }
done
[ -x "$kvbench" ] || fail "no kvbench binary at $kvbench"

tmp="$(mktemp -d /tmp/kvbench-slurm.XXXXXX)"  # short: the munge socket path must fit in 108 bytes
user="$(id -un)"
host="$(hostname -s)"
export SLURM_CONF="$tmp/slurm.conf"

cleanup() {
  local code=$?
  if [ -f "$tmp/slurmctld.pid" ]; then scancel --quiet --user="$user" 2>/dev/null; sleep 1; fi
  for daemon in slurmd slurmctld munged; do
    local pid; pid="$(cat "$tmp/$daemon.pid" 2>/dev/null)"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  [ -n "${reference_pid:-}" ] && kill "$reference_pid" 2>/dev/null
  sleep 1
  if [ "$code" -ne 0 ] && [ "$code" -ne 77 ]; then
    for f in slurmctld.log slurmd.log jobcomp.txt; do
      [ -f "$tmp/$f" ] && { log "--- $f (tail)"; tail -n 20 "$tmp/$f" >&2; }
    done
    for f in "$tmp"/runs*/slurm/logs/*; do [ -f "$f" ] && { log "--- $f"; tail -n 15 "$f" >&2; }; done
  fi
  if [ "${KVBENCH_SLURM_KEEP:-0}" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ctld_port="$(free_port)"
slurmd_port="$(free_port)"
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))

# --- munge: its own key and socket in the temporary folder --------------------------------------
mkdir -p "$tmp/state" "$tmp/spool"
chmod 755 "$tmp"  # munged wants the socket folder searchable by everyone
mungekey --create --keyfile="$tmp/munge.key" || fail "mungekey"
munged --socket="$tmp/munge.socket" --key-file="$tmp/munge.key" --log-file="$tmp/munged.log" \
       --pid-file="$tmp/munged.pid" --seed-file="$tmp/munged.seed" || fail "munged did not start (see $tmp/munged.log)"

# --- Slurm: one node (this host on loopback), one partition -------------------------------------
cat > "$SLURM_CONF" <<CONF
ClusterName=kvbenchci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$tmp/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=3 RealMemory=1000 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
for _ in $(seq 1 60); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
  sleep 1
done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || fail "the node did not become idle: $(sinfo 2>&1)"
log "Slurm up: $host, slurmctld port $ctld_port, slurmd port $slurmd_port, user $user"

# --- the sweep, and its single-process reference (in the background meanwhile) -------------------
export KVBENCH_SLURM_MODEL="$tmp/tiny_model"
"$py" "$src/tests/support/make_tiny_chat_model.py" "$data/tokenizers/qwen3" "$KVBENCH_SLURM_MODEL" >/dev/null 2>&1 \
  || fail "cannot make the tiny model"
sweep="$src/tests/slurm/ci_sweep.yaml"
"$kvbench" run "$sweep" --out "$tmp/single" --no-progress >"$tmp/single.log" 2>&1 &
reference_pid=$!

submit() {  # submit OUT [MAX_REQUEUES] -> prints the array job id
  local out
  out="$("$kvbench" slurm "$sweep" --out "$1" --array-size 3 --max-requeues "${2:-0}" --time 00:15:00)" \
    || fail "kvbench slurm failed: $out"
  echo "$out" | tail -n 1
}
wait_array() {  # wait_array JOB: until no task of the array is pending or running (10 min at most)
  for _ in $(seq 1 600); do
    [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
    sleep 1
  done
  fail "array $1 still running after 10 minutes: $(squeue)"
}
task_states() {  # task_states JOB -> "task:state:exitcode " per task of the array (controller's records)
  scontrol -o show job "$1" | "$py" -c 'import re, sys
tasks = {}
for line in sys.stdin:
    fields = dict(re.findall(r"(\w+)=(\S*)", line))
    tasks[int(fields["ArrayTaskId"])] = fields["JobState"] + ":" + fields["ExitCode"]
print(" ".join(f"{t}:{s}" for t, s in sorted(tasks.items())), end=" ")'
}

kill_task1() {  # kill_task1 OUT JOB: SIGKILL array task 1's kvbench once its part files hold 2 rows
  local victim= rows=0
  for _ in $(seq 1 1200); do
    rows=$(cat "$1"/*/*/*/*/*/samples.shard-1-of-3.jsonl 2>/dev/null | wc -l)
    if [ "$rows" -ge 2 ]; then
      victim="$("$py" -c 'import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*/*/*/*/*/run.shard-1-of-3.json"):
    s = json.load(open(f))
    if s["status"] == "running": print(s["pid"]); break' "$1")"
      [ -n "$victim" ] && break
    fi
    sleep 0.1
  done
  [ -n "$victim" ] || fail "array task 1 finished or never ran before it could be killed"
  kill -9 "$victim" || fail "cannot kill $victim"
  log "killed kvbench pid $victim (array task ${2}_1) after $rows recorded rows"
}

# --- 1. the array, then the merged store against the single-process run ----------------------------
job="$(submit "$tmp/runs")" || exit 1
log "submitted array $job (3 tasks)"
wait_array "$job"
states="$(task_states "$job")"
log "array $job ended: $states"
[ "$states" = "0:COMPLETED:0:0 1:COMPLETED:0:0 2:COMPLETED:0:0 " ] || fail "unexpected task states: $states"
"$kvbench" status "$tmp/runs" >"$tmp/status1.txt" || { cat "$tmp/status1.txt" >&2; fail "kvbench status: not all cells complete"; }
log "$(tail -n 1 "$tmp/status1.txt")"
grep -q "shard 2/3: finished" "$tmp/status1.txt" || fail "kvbench status shows no shard detail"
wait "$reference_pid" || { cat "$tmp/single.log" >&2; fail "the single-process run failed"; }
reference_pid=
"$py" "$src/tests/slurm/compare_runs.py" "$tmp/single" "$tmp/runs" >&2 || fail "the merged store differs from the single-process run"

# --- 2. task 1 killed mid-way, then a resubmission completes the sweep ------------------------------
job="$(submit "$tmp/runs2")" || exit 1
log "submitted array $job; killing task 1's kvbench once it has recorded 2 samples"
kill_task1 "$tmp/runs2" "$job"
mkdir -p "$tmp/before"
for part in "$tmp"/runs2/*/*/*/*/*/samples.shard-1-of-3.jsonl; do
  cp "$part" "$tmp/before/$(echo "$part" | md5sum | cut -c1-12)"
done
wait_array "$job"
states="$(task_states "$job")"
log "array $job ended: $states"
[[ "$states" == "0:COMPLETED:0:0 1:FAILED:"*" 2:COMPLETED:0:0 " ]] || fail "expected task 1 failed, the others complete: $states"
if "$kvbench" status "$tmp/runs2" >"$tmp/status2.txt"; then fail "the store is complete although task 1 was killed"; fi
log "after the kill: $(tail -n 1 "$tmp/status2.txt")"
job="$(submit "$tmp/runs2")" || exit 1
log "resubmitted as array $job"
wait_array "$job"
states="$(task_states "$job")"
log "array $job ended: $states"
[ "$states" = "0:COMPLETED:0:0 1:COMPLETED:0:0 2:COMPLETED:0:0 " ] || fail "unexpected task states: $states"
"$kvbench" status "$tmp/runs2" >"$tmp/status3.txt" || { cat "$tmp/status3.txt" >&2; fail "not complete after the resubmission"; }
log "after the resubmission: $(tail -n 1 "$tmp/status3.txt")"
for part in "$tmp"/runs2/*/*/*/*/*/samples.shard-1-of-3.jsonl; do
  before="$tmp/before/$(echo "$part" | md5sum | cut -c1-12)"
  [ -f "$before" ] || continue
  # The whole rows recorded before the kill (a torn last line is cut and redone) come first, unchanged.
  n="$("$py" -c 'import sys; t = open(sys.argv[1], "rb").read(); print(t.rfind(b"\n") + 1)' "$before")"
  whole="$(head -c "$n" "$before" | md5sum)"
  prefix="$(head -c "$n" "$part" | md5sum)"
  [ "$whole" = "$prefix" ] || fail "$part: rows recorded before the kill changed"
done
"$py" "$src/tests/slurm/compare_runs.py" "$tmp/single" "$tmp/runs2" >&2 || fail "the resumed store differs from the single-process run"

# --- 3. task 1 killed mid-way again, now requeued by its own script (--max-requeues 1) --------------
job="$(submit "$tmp/runs3" 1)" || exit 1
log "submitted array $job with --max-requeues 1"
kill_task1 "$tmp/runs3" "$job"
wait_array "$job"
states="$(task_states "$job")"
log "array $job ended: $states"
[ "$states" = "0:COMPLETED:0:0 1:COMPLETED:0:0 2:COMPLETED:0:0 " ] || fail "task 1 was not requeued to completion: $states"
restarts="$(scontrol -o show job "${job}_1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')"
[ "$restarts" = 1 ] || fail "task 1 restarted ${restarts:-?} times, expected 1"
grep -q "requeueing ${job}_1" "$tmp"/runs3/slurm/logs/*_1.err || fail "task 1's log does not show the requeue"
"$kvbench" status "$tmp/runs3" >"$tmp/status4.txt" || { cat "$tmp/status4.txt" >&2; fail "not complete after the requeue"; }
"$py" "$src/tests/slurm/compare_runs.py" "$tmp/single" "$tmp/runs3" >&2 || fail "the requeued store differs from the single-process run"
log "PASS"
