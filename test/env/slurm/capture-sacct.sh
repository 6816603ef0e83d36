#!/usr/bin/env bash
# Captures REAL `sacct --parsable2` output for the replay tool's trace reader tests
# (replay/trace/sacct.ts, test/unit/replay-trace.test.ts) from a throw-away Slurm 22.05 with
# accounting: MariaDB (unix socket only, --skip-networking), slurmdbd, slurmctld and one slurmd
# (NodeName=localhost), inside a private network namespace that has nothing but its own
# loopback (127.0.0.1, and 127.0.0.2 for Slurm's AI_ADDRCONFIG lookups). slurmctld and slurmd
# bind 127.0.0.1; slurmdbd (which ignores DbdAddr for listening) binds the namespace's wildcard
# address, which reaches nothing but that loopback; nothing binds in the machine's namespace.
# munged and the PID book-keeping are the tests' own (lib.sh, the same approach as up.sh).
# It submits a handful of jobs (different -n and -t, an array, one with an srun step, one that
# fails, and a plain and a heterogeneous job cancelled while pending), waits until the database
# has recorded all of them as finished, writes test/fixtures/replay/sacct-parsable2.txt, and
# stops everything it started and removes its temporary directory (also on failure; set
# DC_CAPTURE_KEEP=1 to keep it for its logs).
# Idempotent: installs slurmdbd and mariadb-server only when missing (daemons are never started
# by the packages). Debian 12, as root, no systemd needed.
# Usage: bash test/env/slurm/capture-sacct.sh [output file]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../../.." && pwd)"
out=${1:-${root}/test/fixtures/replay/sacct-parsable2.txt}
# The fields replay/trace/sacct.ts reads (keep in sync with SACCT_COMMAND there).
FORMAT=JobID,User,Submit,Start,End,Elapsed,AllocCPUS,ReqCPUS,Timelimit,State

[[ $(id -u) -eq 0 ]] || { echo "capture-sacct.sh: run as root" >&2; exit 2; }

# ---------------------------------------------------------------- install (idempotent)
PKGS="slurmctld slurmd slurm-client slurmdbd slurm-wlm-mysql-plugin munge mariadb-server mariadb-client iproute2 util-linux"
need=()
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [[ ${#need[@]} -gt 0 ]]; then
    echo "capture-sacct.sh: installing ${need[*]}" >&2
    added_policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    apt-get -o DPkg::Lock::Timeout=1200 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1200 install -y -qq \
        --no-install-recommends "${need[@]}" >/dev/null
    [[ -n $added_policy ]] && rm -f /usr/sbin/policy-rc.d
fi

# ---------------------------------------------------------------- work directory, lib.sh
tmp=$(mktemp -d /tmp/dc-sacct-capture.XXXXXX)
chmod 0755 "$tmp"
export DC_SLURM_DIR=$tmp
# shellcheck source=test/env/slurm/lib.sh
. "${here}/lib.sh" # DIR=$tmp, SLURM_CONF, PIDS, log, record_pid, wait_pidfile, stop_pid
mkdir -p "$DIR"/{etc,run,log,state,spool/localhost,munge,mysql,jobs}
: >"$PIDS"
NS=dcsacct-$$
keep=${DC_CAPTURE_KEEP:-} # set to keep the work directory (logs) for debugging

cleanup() {
    local rc=$?
    set +e
    if grep -q '^slurmctld ' "$PIDS" && timeout 10 nsenter --net="/run/netns/$NS" scontrol ping 2>/dev/null | grep -q UP; then
        timeout 10 nsenter --net="/run/netns/$NS" scancel --quiet --user=root 2>/dev/null
    fi
    for comm in slurmd slurmctld slurmdbd mariadbd munged; do
        while read -r name pid; do
            [[ $name == "$comm" ]] && stop_pid "$pid" "$comm"
        done <"$PIDS"
    done
    ip netns del "$NS" 2>/dev/null
    if [[ $rc -ne 0 ]]; then
        log "failed (exit $rc); last lines of the logs:"
        tail -n 15 "$DIR"/log/*.log "$DIR"/mysql.err 2>/dev/null >&2
    fi
    if [[ -n $keep ]]; then log "kept $DIR"; else rm -rf "$DIR"; fi
    exit "$rc"
}
trap cleanup EXIT

# Runs a command in the private network namespace (nsenter, as lib.sh's in_head: `ip netns
# exec` would remount /sys, without the cgroup file systems slurmd needs).
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

# Polls `$@` every 0.2 s until it succeeds, for at most $timeout seconds (a single try of a
# Slurm client can hang for long: give those their own `timeout`).
wait_for() {
    local what=$1 timeout=$2 deadline
    shift 2
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    log "timed out after ${timeout}s waiting for $what"
    return 1
}

# ---------------------------------------------------------------- network: loopback only
# A namespace whose only interface is its own lo. Slurm resolves its listening addresses with
# AI_ADDRCONFIG, which glibc satisfies only when some IPv4 address other than 127.0.0.1 exists,
# and slurmdbd listens on the wildcard address whatever DbdAddr says: a second loopback address
# (127.0.0.2, on lo) satisfies the first, and the namespace confines the second to loopback.
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 127.0.0.2/8 dev lo
# Every port is free in a namespace of our own; these are Slurm's defaults plus 10000.
DBD_PORT=16819
CTLD_PORT=16817
SLURMD_PORT=16818

# ---------------------------------------------------------------- munged (as up.sh does)
chown munge:munge "$DIR/munge"
chmod 0755 "$DIR/munge"
runuser -u munge -- mungekey --create --keyfile="$DIR/munge/munge.key"
chmod 0400 "$DIR/munge/munge.key"
runuser -u munge -- munged --socket="$DIR/munge/munge.socket.2" --key-file="$DIR/munge/munge.key" \
    --log-file="$DIR/munge/munged.log" --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/munged.seed"
record_pid munged "$(wait_pidfile "$DIR/munge/munged.pid")"
wait_for "the munge socket" 10 test -S "$DIR/munge/munge.socket.2"

# ---------------------------------------------------------------- MariaDB, unix socket only
sock=$DIR/mysql/mysqld.sock
chown mysql:mysql "$DIR/mysql"
mariadb-install-db --no-defaults --user=mysql --datadir="$DIR/mysql/data" --skip-test-db \
    --auth-root-authentication-method=socket >"$DIR/log/mariadb-install.log" 2>&1
in_ns setsid mariadbd --no-defaults --user=mysql --datadir="$DIR/mysql/data" --socket="$sock" \
    --skip-networking --pid-file="$DIR/mysql/mariadbd.pid" --log-error="$DIR/mysql.err" \
    --innodb-buffer-pool-size=64M </dev/null >/dev/null 2>&1 &
record_pid mariadbd "$(wait_pidfile "$DIR/mysql/mariadbd.pid" 60)"
wait_for "MariaDB" 60 mariadb-admin --no-defaults --socket="$sock" -u root ping
dbpass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
mariadb --no-defaults --socket="$sock" -u root <<EOF
CREATE DATABASE slurm_acct_db;
CREATE USER 'slurm'@'localhost' IDENTIFIED BY '$dbpass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
log "MariaDB up on $sock"

# ---------------------------------------------------------------- slurmdbd
cat >"$DIR/etc/slurmdbd.conf" <<EOF
# capture-sacct.sh: throw-away slurmdbd (generated)
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$dbpass
EOF
chmod 0600 "$DIR/etc/slurmdbd.conf"
cat >"$SLURM_CONF" <<EOF
# capture-sacct.sh: throw-away cluster with accounting (generated)
ClusterName=dccapture
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket.2
CredType=cred/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# The munge socket of connections to slurmdbd (AuthInfo is not used for them).
AccountingStoragePass=$DIR/munge/munge.socket.2
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
InactiveLimit=0
MinJobAge=300
KillWait=5
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=100 State=UNKNOWN
PartitionName=batch Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
# slurmdbd finds slurmdbd.conf next to $SLURM_CONF. libmariadb honours MYSQL_UNIX_PORT.
MYSQL_UNIX_PORT=$sock in_ns slurmdbd
record_pid slurmdbd "$(wait_pidfile "$DIR/run/slurmdbd.pid")"
wait_for "slurmdbd" 60 in_ns timeout 10 sacctmgr -n list cluster
in_ns sacctmgr -i add cluster dccapture >/dev/null
log "slurmdbd up (127.0.0.1:$DBD_PORT), cluster dccapture registered"

# ---------------------------------------------------------------- slurmctld + slurmd
in_ns slurmctld -f "$SLURM_CONF"
record_pid slurmctld "$(wait_pidfile "$DIR/run/slurmctld.pid")"
wait_for "slurmctld" 30 bash -c "nsenter --net=/run/netns/$NS timeout 10 scontrol ping | grep -q UP"
in_ns slurmd -f "$SLURM_CONF" -N localhost
record_pid slurmd "$(wait_pidfile "$DIR/run/slurmd-localhost.pid")"
wait_for "the node to be idle" 60 bash -c "nsenter --net=/run/netns/$NS sinfo -h -N -t idle -o %N | grep -qx localhost"
log "slurmctld and slurmd up; listening sockets in the namespace:"
in_ns ss -Hltnp | awk '{print "  " $4, $6}' >&2
# Wildcard listeners can only be reached on the namespace's addresses: all must be loopback.
if ip -n "$NS" -o addr show | awk '{print $2, $4}' | grep -vE '^lo (127\.|::1/)' | grep -q .; then
    log "the namespace has a non-loopback address; refusing to go on"
    exit 1
fi

# ---------------------------------------------------------------- jobs
sb() { in_ns sbatch --parsable --chdir="$DIR/jobs" --output="$DIR/jobs/%j.out" "$@"; }
sq() { in_ns squeue -h "$@"; }
# A job that holds both cores, so that the next two stay pending (for Resources) until they are
# cancelled: one plain job, and a heterogeneous one (two components never fit on one node).
# Jobs that were never eligible (--hold, --begin) would not be listed by sacct at all.
blocker=$(sb -J blocker -n 2 -t 1 --wrap 'sleep 4')
wait_for "the blocker to run" 30 bash -c "[[ \$(nsenter --net=/run/netns/$NS squeue -h -t R -j $blocker -o %i) ]]"
pend=$(sb -J cancelled-pending -n 1 -t 1 --wrap 'sleep 1')
printf '#!/bin/bash\n#SBATCH -J het -t 1 -n 1\n#SBATCH hetjob\n#SBATCH -n 1\nsleep 2\n' >"$DIR/jobs/het.sh"
het=$(sb "$DIR/jobs/het.sh")
[[ $(sq -t PD -o %i | wc -l) -ge 3 ]] || { log "expected $pend and $het to be pending"; exit 1; }
in_ns scancel "$pend" "$het"
ids=("$blocker" "$pend" "$het")
ids+=("$(sb -J short -n 1 -t 1 --wrap 'sleep 2')")
ids+=("$(sb -J two-cores -n 2 -t 00:02:00 --wrap 'sleep 3')")
ids+=("$(sb -J day-limit -n 1 -t 1-00:00:00 --wrap 'sleep 3')")
ids+=("$(sb -J array -n 1 -t 2 --array=1-3 --wrap 'sleep 1')")
ids+=("$(sb -J fails -n 1 -t 1 --wrap 'sleep 1; exit 3')")
ids+=("$(sb -J with-step -n 2 -t 5 --wrap 'srun -n 2 sleep 1')")
log "submitted ${ids[*]} (cancelled $pend and $het while pending)"

# Every job has left the queue and the database has recorded every allocation as finished.
wait_for "the jobs to finish" 300 bash -c "[[ -z \$(nsenter --net=/run/netns/$NS squeue -h -o %i) ]]"
# Allocations: one per job, plus one for the het job's second component and two for the array's
# second and third tasks.
expected=$((${#ids[@]} + 3))
db_done() {
    local states
    states=$(in_ns timeout 10 sacct --allusers --noheader --parsable2 -X --starttime=now-1hours --format=State) || return 1
    [[ $(wc -l <<<"$states") -ge $expected ]] && ! grep -qE 'PENDING|RUNNING|COMPLETING|REQUEUED|RESIZING' <<<"$states"
}
wait_for "the database to record the finished jobs" 120 db_done

mkdir -p "$(dirname "$out")"
in_ns sacct --allusers --parsable2 --starttime=now-1hours --format="$FORMAT" >"$out.tmp"
mv "$out.tmp" "$out"
log "wrote $out ($(wc -l <"$out") lines)"
