#!/bin/bash
# Stops the node that start.sh started with the same RMQ_BASE and RMQ_PORT. Succeeds when the
# node is not running. epmd is stopped only when no other Erlang node is registered with it.
set -uo pipefail
. "$(dirname "$0")/env.sh"

if [[ ! -f $RABBITMQ_PID_FILE ]]; then
    echo "rabbitmq: node $RABBITMQ_NODENAME is not running"
    exit 0
fi
pid=$(cat "$RABBITMQ_PID_FILE" 2>/dev/null || true)
if ! timeout 60 rabbitmqctl -q -n "$RABBITMQ_NODENAME" stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1; then
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 10); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
fi
rm -f "$RABBITMQ_PID_FILE"
if ! epmd -names 2>/dev/null | grep -q '^name '; then
    epmd -kill >/dev/null 2>&1 || true
fi
echo "rabbitmq: node $RABBITMQ_NODENAME stopped"
