#!/usr/bin/env bash
# Runs the Warren vs RabbitMQ comparison of docs/benchmarks.md and keeps every result as JSON.
#
#   bench/run-all.sh [OUT_DIR] [SECTION...]      sections: 1 (includes 1d) 1d 2 3 3t 4 5 (default: 1 2 3 3t 4 5)
#
# Needs a build (npx tsc -p tsconfig.json), RabbitMQ on 127.0.0.1:5682 (guest/guest) for sections 1, 2 and 5,
# and root for sections 3 and 4, which run a second, private RabbitMQ node (bench@localhost on port 5692,
# data under /tmp/rmq-bench) so that a fresh node can be filled, measured, restarted and removed. Warren is
# started fresh for each configuration on port 5771 with a temporary data directory.
#
# Every configuration runs ROUNDS times (default 2), RabbitMQ and Warren alternating. For each run the
# command line, the load average before it and the tool's JSON result are written to OUT_DIR:
#   OUT_DIR/commands.log              one line per run: name, uptime, command
#   OUT_DIR/<name>.<broker>.r<N>.json the tool's --json output (stderr in .log next to it)
#   OUT_DIR/s3-memory.log             RSS of the brokers empty, full and drained (section 3)
#   OUT_DIR/s3t-memory.log            RSS before and after queueing 1,000,000 transient messages (3t)
#   OUT_DIR/s4.<broker>.r<N>.json     recovery-bench output (section 4)
set -u
cd "$(dirname "$0")/.."

OUT=${1:-/tmp/warren-bench-$(date +%Y%m%d-%H%M%S)}
shift || true
SECTIONS=${*:-1 2 3 3t 4 5}
ROUNDS=${ROUNDS:-2}
mkdir -p "$OUT"
BENCH="node dist/bench/warren-bench.js"
WPORT=5771
RURL=amqp://guest:guest@127.0.0.1:5682/
WURL=amqp://guest:guest@127.0.0.1:$WPORT/
# The shared RabbitMQ: the beam.smp listening on 5682 (a second node may be running too)
RPID=$(ss -ltnpH 'sport = :5682' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
echo "results in $OUT; RabbitMQ pid $RPID; sections $SECTIONS; $ROUNDS rounds" | tee -a "$OUT/commands.log"

WPID=
WDIR=
start_warren() { # extra options
  WDIR=$(mktemp -d /tmp/warren-bench-data.XXXXXX)
  node dist/src/main.js --port $WPORT --data-dir "$WDIR" --log-level warn --management-port none --prometheus-port none "$@" >>"$OUT/warren.log" 2>&1 &
  WPID=$!
  for _ in $(seq 1 200); do (echo >/dev/tcp/127.0.0.1/$WPORT) 2>/dev/null && break; sleep 0.05; done
  echo "warren pid $WPID data $WDIR options: $*" >>"$OUT/commands.log"
}
stop_warren() {
  [ -n "$WPID" ] || return 0
  kill -TERM "$WPID" 2>/dev/null
  wait "$WPID" 2>/dev/null
  rm -rf "$WDIR"
  WPID=
}
trap stop_warren EXIT

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# run NAME BROKER ROUND ARGS... : one tool run against rabbitmq (shared node) or warren (WPID)
run() {
  local name=$1 broker=$2 round=$3
  shift 3
  local url pid
  if [ "$broker" = rabbitmq ]; then url=${RURL_OVERRIDE:-$RURL} pid=${RPID_OVERRIDE:-$RPID}; else url=$WURL pid=$WPID; fi
  local cmd="$BENCH --url $url $* --broker-pid $pid --json"
  echo "$name $broker r$round | $(uptime | sed 's/.*load/load/') | $cmd" | tee -a "$OUT/commands.log"
  $cmd >"$OUT/$name.$broker.r$round.json" 2>"$OUT/$name.$broker.r$round.log"
  local rc=$?
  [ $rc -eq 0 ] || echo "  exit status $rc" | tee -a "$OUT/commands.log"
  sleep 2
}

# compare NAME ARGS... : ROUNDS x (RabbitMQ, Warren), one fresh Warren for the configuration
compare() {
  local name=$1
  shift
  start_warren
  for round in $(seq 1 "$ROUNDS"); do
    run "$name" rabbitmq "$round" "$@"
    run "$name" warren "$round" "$@"
  done
  echo "warren idle RSS after $name: $(rss_kb "$WPID") kB" >>"$OUT/commands.log"
  stop_warren
}

CONFIRMED="--confirm 500 --ack manual --prefetch 500 --multi-ack 50"

for section in $SECTIONS; do
  case $section in
  1)
    compare s1a-16b --size 16 --count 1000000 $CONFIRMED
    compare s1a-1k --size 1024 --count 500000 $CONFIRMED
    compare s1b-16b --size 16 --count 1000000 --ack auto
    compare s1b-1k --size 1024 --count 500000 --ack auto
    compare s1c-4x4-1k --publishers 4 --consumers 4 --size 1024 --count 150000 $CONFIRMED
    ;&
  1d)
    # Latency at a fixed load that both brokers can carry
    compare s1d-10k --size 1024 --rate 10000 --duration 15 $CONFIRMED
    compare s1d-30k --size 1024 --rate 30000 --duration 15 $CONFIRMED
    ;;
  2)
    compare s2-1p --size 1024 --count 200000 --persistent --durable-queue $CONFIRMED
    compare s2-10p --publishers 10 --consumers 2 --size 1024 --count 30000 --persistent --durable-queue $CONFIRMED
    ;;
  3)
    # A queue beyond the memory budget, on a fresh broker each round
    N=${S3_MESSAGES:-2000000}
    PUBS=2
    RNODE="RABBITMQ_NODENAME=bench@localhost RABBITMQ_NODE_PORT=5692 RABBITMQ_DIST_PORT=25692 RABBITMQ_MNESIA_BASE=/tmp/rmq-bench RABBITMQ_LOG_BASE=/tmp/rmq-bench-log"
    for round in $(seq 1 "$ROUNDS"); do
      # RabbitMQ: a fresh second node
      mkdir -p /tmp/rmq-bench /tmp/rmq-bench-log && chown rabbitmq:rabbitmq /tmp/rmq-bench /tmp/rmq-bench-log
      env $RNODE rabbitmq-server -detached
      for _ in $(seq 1 600); do (echo >/dev/tcp/127.0.0.1/5692) 2>/dev/null && break; sleep 0.1; done
      sleep 3
      RPID_OVERRIDE=$(cat /tmp/rmq-bench/bench@localhost.pid)
      RURL_OVERRIDE=amqp://guest:guest@127.0.0.1:5692/
      export RPID_OVERRIDE RURL_OVERRIDE
      for broker in rabbitmq warren; do
        if [ $broker = warren ]; then
          start_warren --message-memory-budget 268435456
          sleep 3
          pid=$WPID
        else
          pid=$RPID_OVERRIDE
        fi
        empty=$(rss_kb "$pid")
        run s3-fill $broker "$round" --publishers $PUBS --consumers 0 --size 1024 --count $((N / PUBS)) \
          --persistent --durable-queue --confirm 500 --queue bench-backlog --keep-queue
        sleep 5
        full=$(rss_kb "$pid")
        run s3-drain $broker "$round" --publishers 0 --consumers 2 --count "$N" --queue bench-backlog \
          --durable-queue --ack manual --prefetch 500 --multi-ack 50
        sleep 5
        drained=$(rss_kb "$pid")
        echo "$broker r$round messages $N rss_kb empty $empty full $full drained $drained" | tee -a "$OUT/s3-memory.log"
        url=$([ $broker = warren ] && echo "$WURL" || echo "$RURL_OVERRIDE")
        node -e "const a=require('amqplib');(async()=>{const c=await a.connect('$url');const ch=await c.createChannel();await ch.deleteQueue('bench-backlog');await c.close()})()" ||
          echo "could not delete bench-backlog on $broker" | tee -a "$OUT/commands.log"
        [ $broker = warren ] && stop_warren
      done
      env $RNODE rabbitmqctl stop >/dev/null
      unset RPID_OVERRIDE RURL_OVERRIDE
      rm -rf /tmp/rmq-bench /tmp/rmq-bench-log
    done
    ;;
  3t)
    # Memory per queued transient message: 1,000,000 x 16 B into a non-durable queue, no consumers
    start_warren
    sleep 2
    for round in $(seq 1 "$ROUNDS"); do
      for broker in rabbitmq warren; do
        if [ $broker = warren ]; then pid=$WPID url=$WURL; else pid=$RPID url=$RURL; fi
        before=$(rss_kb "$pid")
        run s3t-fill $broker "$round" --consumers 0 --count 1000000 --size 16 --confirm 500 --queue mem-probe --keep-queue
        sleep 3
        full=$(rss_kb "$pid")
        node -e "const a=require('amqplib');(async()=>{const c=await a.connect('$url');const ch=await c.createChannel();await ch.deleteQueue('mem-probe');await c.close()})()"
        sleep 3
        echo "$broker r$round transient 1000000 x 16 B rss_kb before $before full $full after-delete $(rss_kb "$pid")" | tee -a "$OUT/s3t-memory.log"
      done
    done
    stop_warren
    ;;
  4)
    for round in $(seq 1 "$ROUNDS"); do
      for broker in rabbitmq warren; do
        cmd="node dist/bench/recovery-bench.js --broker $broker --queues 100 --per-queue 10000 --size 100 --restarts term,term,kill,kill --json"
        echo "s4 $broker r$round | $(uptime | sed 's/.*load/load/') | $cmd" | tee -a "$OUT/commands.log"
        $cmd >"$OUT/s4.$broker.r$round.json" 2>"$OUT/s4.$broker.r$round.log" ||
          echo "  exit status $?" | tee -a "$OUT/commands.log"
      done
    done
    ;;
  5)
    for style in --reply-queue --direct-reply-to; do
      compare "s5${style}-1x1" --rpc $style --rpc-clients 1 --rpc-inflight 1 --prefetch 100 --duration 10
      compare "s5${style}-4x10" --rpc $style --rpc-clients 4 --rpc-inflight 10 --prefetch 100 --duration 10
    done
    ;;
  esac
done
echo "done: $(uptime)" | tee -a "$OUT/commands.log"
