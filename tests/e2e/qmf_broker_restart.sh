#!/bin/bash
# A broker restart in the middle of a build: the daemon reconnects, the build completes, and
# the events raised while the broker was down arrive complete and in order. The node is
# private (port RMQ_PORT + 23) because the test stops it. Its definitions add a durable queue
# bound to the agent's indications, which the watcher reads, so events the daemon sends right
# after reconnecting are kept even if the watcher reconnects later.
set -euo pipefail
. "$(dirname "$0")/lib/qmf_common.bash"
PORT=$((${RMQ_PORT:-5672} + 23))
QUEUE=imagefactory-e2e-indications

if port_open "$PORT"; then
    echo "SKIP: port $PORT is in use"
    exit 0
fi
/usr/bin/python3 - "$IF_SOURCE_DIR/scripts/rabbitmq/definitions.json" "$WORK/definitions.json" "$QUEUE" <<'PY'
import json, sys
source, target, queue = sys.argv[1:]
d = json.load(open(source))
d["queues"].append({"name": queue, "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}})
d["bindings"].append({"source": "qmf.default.topic", "vhost": "/", "destination": queue,
                      "destination_type": "queue", "routing_key": "agent.ind.#", "arguments": {}})
json.dump(d, open(target, "w"))
PY
export RMQ_DEFINITIONS=$WORK/definitions.json
ensure_rabbitmq
node() {
    RMQ_PORT=$PORT RMQ_BASE=$STARTED_NODE bash "$IF_SOURCE_DIR/scripts/rabbitmq/$1.sh"
}

start_daemon
wait_for_agent
start_watcher "$WORK/events.jsonl" --queue "$QUEUE"

build=$(console build --template '<template><name>restart</name><mock_step_ms>1500</mock_step_ms></template>' \
    --target mock)
for _ in $(seq 1 50); do
    grep -q '"percent_complete":' "$WORK/events.jsonl" && break
    sleep 0.2
done

node stop
sleep 4
node start
# Polled rather than watched: a second reader of the queue would take events from the first.
for _ in $(seq 1 120); do
    status=$(status_field "$build" status 2>/dev/null || true)
    [[ $status == COMPLETED || $status == FAILED ]] && break
    sleep 1
done
[[ $status == COMPLETED ]] || fail "the build did not complete after the broker restart ($status)"
sleep 2
grep -q 'connection lost' "$WORK/daemon.log" || fail "the daemon did not log the outage"
[[ $(grep -c 'connection lost\|unreachable' "$WORK/daemon.log") -eq 1 ]] ||
    fail "the outage was logged more than once"
check_events "$WORK/events.jsonl" "$build"
echo "PASS"
