#!/bin/bash
# Where the machine's cores go while pgbench runs through PgBouncer, through the featureless TLS pipe (TlsPipe,
# Warden's relay design with nothing else) and through Warden: one interleaved round of PgbenchComparison
# (select-only, one protocol, one client count, durability write), with a system-wide `perf record` of 6 s in
# the middle of each of those three rounds. Prints the
# share of all samples per process (comm) and per process and object (comm, dso: kernel, JIT code, libssl...).
#
#   bench/system-profile.sh JAR [CLIENTS] [MODE] [OUTDIR]
#
# JAR is a copy of bench/target/warden-bench.jar; CLIENTS defaults to 16, MODE to simple. Needs `perf`
# (Debian linux-perf) and root or kernel.perf_event_paranoid <= 0, and pgbouncer on the PATH.
set -euo pipefail
jar=${1:?usage: system-profile.sh JAR [CLIENTS] [MODE] [OUTDIR]}
clients=${2:-16}
mode=${3:-simple}
out=${4:-$(mktemp -d /tmp/warden-system-profile-XXXXXX)}
mkdir -p "$out"
log="$out/comparison.out"

# The perf map lets perf name the JIT-compiled Java methods (written when the JVM exits).
java -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -cp "$jar" dev.warden.bench.PgbenchComparison \
    --clients "$clients" --seconds 10 --rounds 1 --warmup 3 --prewarm 2 --jit-warmup 30 --workloads select \
    --modes "$mode" --wardens write --pgbouncer on --pipe on --jfr off > "$log" 2>&1 &
bench=$!

# Each round's line is printed when it ends; the next path's round starts right after (with 2 s of prewarm).
await() {
    while ! grep -q "$1" "$log"; do
        if ! kill -0 "$bench" 2> /dev/null; then
            echo "the comparison ended before '$1'; see $log" >&2
            exit 1
        fi
        sleep 0.5
    done
}
await "c$clients round 1/1 direct"
sleep 4
perf record -a -F 999 -g -o "$out/pgbouncer.perf" -- sleep 6 > /dev/null 2>&1
await "c$clients round 1/1 PgBouncer"
sleep 4
perf record -a -F 999 -g -o "$out/pipe.perf" -- sleep 6 > /dev/null 2>&1
await "c$clients round 1/1 TLS pipe"
sleep 4
perf record -a -F 999 -g -o "$out/warden.perf" -- sleep 6 > /dev/null 2>&1
wait "$bench"

grep "^| select" "$log"
# head closes the pipe early: perf then dies of SIGPIPE, which must not end the script.
set +o pipefail
for path in pgbouncer pipe warden; do
    echo
    echo "== $path round: share of all samples by process, then by process and object"
    perf report -i "$out/$path.perf" --no-children --sort comm -g none --stdio 2> /dev/null | grep "%" | head -8
    perf report -i "$out/$path.perf" --no-children --sort comm,dso -g none --stdio 2> /dev/null | grep "%" \
        | head -16
done
echo
echo "recordings and the comparison's report: $out"
