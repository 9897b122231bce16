#!/bin/bash
# Starts a private RabbitMQ node with the AMQP 1.0 plugin on 127.0.0.1:$RMQ_PORT (default 5672),
# with the QMF exchanges and the queue expiry policy from definitions.json (or the file named by
# RMQ_DEFINITIONS). Every start begins with an empty database. Settings are listed in env.sh.
#
# Idempotent: when this node is already up, the script only checks it and exits 0.
# A system node from the Debian package (started by its postinst when no policy-rc.d prevents
# it) listens on 0.0.0.0:5672 and runs as the user rabbitmq. When that node holds our port, the
# script stops it through the package's own rabbitmqctl wrapper and goes on; any other process
# on the port is an error, and a free port can be chosen with RMQ_PORT.
set -euo pipefail
. "$(dirname "$0")/env.sh"
RMQ_DEFINITIONS=${RMQ_DEFINITIONS:-$RMQ_SCRIPTS/definitions.json}

node_is_up() {
    [[ -f $RABBITMQ_PID_FILE ]] && timeout 30 rabbitmqctl -q -n "$RABBITMQ_NODENAME" ping >/dev/null 2>&1
}

port_listener_pid() {
    ss -Hltnp "sport = :$RMQ_PORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

if node_is_up; then
    echo "rabbitmq: node $RABBITMQ_NODENAME already running on 127.0.0.1:$RMQ_PORT"
    exit 0
fi

pid=$(port_listener_pid)
if [[ -n $pid ]]; then
    owner=$(ps -o user= -p "$pid" | tr -d ' ')
    if [[ $owner == rabbitmq && -x /usr/sbin/rabbitmqctl ]]; then
        echo "rabbitmq: stopping the system node (pid $pid) that holds port $RMQ_PORT"
        (unset HOME RABBITMQ_NODENAME RABBITMQ_CONF_ENV_FILE RABBITMQ_CONFIG_FILE \
            RABBITMQ_PID_FILE RABBITMQ_MNESIA_BASE RABBITMQ_LOG_BASE RABBITMQ_DIST_PORT \
            RABBITMQ_NODE_PORT RABBITMQ_ENABLED_PLUGINS_FILE RABBITMQ_CTL_ERL_ARGS
            timeout 60 /usr/sbin/rabbitmqctl stop) || kill -TERM "$pid"
        for _ in $(seq 1 30); do
            [[ -z $(port_listener_pid) ]] && break
            sleep 1
        done
    fi
    if [[ -n $(port_listener_pid) ]]; then
        echo "rabbitmq: port 127.0.0.1:$RMQ_PORT is in use by pid $(port_listener_pid);" \
            "choose another port with RMQ_PORT" >&2
        exit 1
    fi
fi

# A stale node of ours (crashed, pid file left behind) is stopped before the wipe.
if [[ -f $RABBITMQ_PID_FILE ]]; then
    "$RMQ_SCRIPTS/stop.sh" >/dev/null 2>&1 || true
fi

rm -rf "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_PID_FILE"
mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE" "$HOME"
chmod 700 "$RMQ_BASE" "$HOME"
: >"$RABBITMQ_CONF_ENV_FILE"
cp "$RMQ_DEFINITIONS" "$RMQ_BASE/definitions.json"
cat >"$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.1 = 127.0.0.1:$RMQ_PORT
loopback_users.guest = true
amqp1_0.default_user = guest
amqp1_0.default_vhost = /
amqp1_0.protocol_strict_mode = false
load_definitions = $RMQ_BASE/definitions.json
log.console = false
log.file.level = info
CONF
echo '[rabbitmq_amqp1_0].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"

started=$(date +%s)
setsid rabbitmq-server >"$RABBITMQ_LOG_BASE/server.stdout" 2>&1 </dev/null &
if ! timeout 120 rabbitmqctl -q wait --timeout 100 "$RABBITMQ_PID_FILE" ||
    ! timeout 60 rabbitmqctl -q await_startup; then
    echo "rabbitmq: node did not start; see $RABBITMQ_LOG_BASE" >&2
    tail -n 20 "$RABBITMQ_LOG_BASE/server.stdout" >&2 || true
    exit 1
fi
echo "rabbitmq: node $RABBITMQ_NODENAME up on 127.0.0.1:$RMQ_PORT after $(($(date +%s) - started)) s" \
    "(state in $RMQ_BASE)"
