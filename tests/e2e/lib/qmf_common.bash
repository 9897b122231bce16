# Shared parts of the QMF end-to-end scripts: a RabbitMQ node, the daemon, the console, and
# checks of the events a console printed. Expects IF_BIN and IF_SOURCE_DIR.

: "${IF_BIN:?IF_BIN must name the folder of the built binaries}"
: "${IF_SOURCE_DIR:?IF_SOURCE_DIR must name the source tree}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/if-qmf-e2e.XXXXXX")
DAEMON_PID=
STARTED_NODE=
BACKGROUND_PIDS=()
AGENT_ARGS=()

cleanup() {
    local status=$?
    for pid in "${BACKGROUND_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ -n $DAEMON_PID ]]; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    if [[ -n $STARTED_NODE ]]; then
        RMQ_PORT=$PORT RMQ_BASE=$STARTED_NODE bash "$IF_SOURCE_DIR/scripts/rabbitmq/stop.sh" >/dev/null || true
    fi
    if [[ $status -ne 0 ]]; then
        echo "--- daemon log (last 40 lines)"
        tail -n 40 "$WORK/daemon.log" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Uses the node on PORT, or starts one (state under WORK) when nothing listens there. Exits 0
# with a SKIP message when RabbitMQ cannot be started at all.
ensure_rabbitmq() {
    if port_open "$PORT"; then
        return
    fi
    if ! RMQ_PORT=$PORT RMQ_BASE=$WORK/rabbitmq RMQ_DEFINITIONS=${RMQ_DEFINITIONS:-} \
        bash "$IF_SOURCE_DIR/scripts/rabbitmq/start.sh"; then
        echo "SKIP: RabbitMQ could not be started on 127.0.0.1:$PORT"
        trap - EXIT
        rm -rf "$WORK"
        exit 0
    fi
    STARTED_NODE=$WORK/rabbitmq
}

start_daemon() {
    "$IF_BIN/imagefactory" --qmf --foreground --verbose --qpidd "127.0.0.1:$PORT" \
        --imgdir "$WORK/data" --heartbeat-interval 2 "$@" >"$WORK/daemon.log" 2>&1 &
    DAEMON_PID=$!
}

console() {
    "$IF_BIN/imagefactory-console" --broker "127.0.0.1:$PORT" --timeout 30 "${AGENT_ARGS[@]}" "$@"
}

# Starts `console --output json watch ARGS` in the background, writing events to FILE, and
# returns once it is subscribed.
start_watcher() {
    local file=$1
    shift
    "$IF_BIN/imagefactory-console" --broker "127.0.0.1:$PORT" --output json "${AGENT_ARGS[@]}" watch "$@" \
        >"$file" 2>"$file.err" &
    BACKGROUND_PIDS+=($!)
    for _ in $(seq 1 100); do
        grep -q 'watching events' "$file.err" 2>/dev/null && return
        sleep 0.1
    done
    cat "$file.err" >&2
    fail "the event watcher did not start"
}

# Waits until the daemon's agent (named by the instance in its agent.json) is on the broker,
# and makes every later console call use that agent.
wait_for_agent() {
    local instance
    for _ in $(seq 1 30); do
        instance=$(sed -n 's/.*"instance":"\([^"]*\)".*/\1/p' "$WORK/data/agent.json" 2>/dev/null || true)
        if [[ -n $instance ]] && console agents --wait 1 2>/dev/null | grep -q ":$instance "; then
            AGENT_ARGS=(--agent "$instance")
            return
        fi
        sleep 1
    done
    fail "the agent did not appear on the broker"
}

# Checks the events in FILE (JSON lines from watch) for each object name given: STATUS changes
# NEW→PENDING→BUILDING|PUSHING→FINISHING→COMPLETED in order, and PERCENTAGE values that
# increase and end at 100. Events go out at least once, so an event repeated right after
# itself (resent after a reconnect) is counted and skipped.
check_events() {
    local file=$1
    shift
    /usr/bin/python3 - "$file" "$@" <<'PY'
import json, sys
path, names = sys.argv[1], sys.argv[2:]
events = {}
duplicates = 0
for line in open(path):
    line = line.strip()
    if not line:
        continue
    event = json.loads(line)
    seen = events.setdefault(event["object"], [])
    if seen and seen[-1] == event["values"]:
        duplicates += 1
        continue
    seen.append(event["values"])
problems = []
for name in names:
    seen = events.get(name, [])
    statuses = [(e.get("old_status"), e.get("new_status")) for e in seen if e.get("event") == "STATUS"]
    percents = [e.get("percent_complete") for e in seen if e.get("event") == "PERCENTAGE"]
    percents = [p if isinstance(p, int) else p.get("uint", p.get("int", p.get("long", p.get("ulong")))) for p in percents]
    chain = [s for pair in statuses for s in pair]
    expected_work = "PUSHING" if ("PUSHING" in chain) else "BUILDING"
    expected = [("NEW", "PENDING"), ("PENDING", expected_work), (expected_work, "FINISHING"), ("FINISHING", "COMPLETED")]
    if statuses != expected:
        problems.append(f"{name}: STATUS events {statuses}, expected {expected}")
    if not percents or percents[-1] != 100 or any(b <= a for a, b in zip(percents, percents[1:])):
        problems.append(f"{name}: PERCENTAGE events {percents}")
if problems:
    print("\n".join(problems[:20]))
    print(f"{len(problems)} problem(s) in {len(names)} job(s)")
    sys.exit(1)
print(f"events complete and in order for {len(names)} job(s), {duplicates} repeated")
PY
}

# The value of KEY in the text output of `console status ADDRESS`.
status_field() {
    console status "$1" | sed -n "s/^$2: //p"
}
