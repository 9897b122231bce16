#!/bin/bash
# Drives the QMF daemon with imagefactory-console through RabbitMQ. Covered: discovery,
# instance_states, build_image on the mock target with every event checked, push to a mock
# provider, import, an unknown method, abort of a running build. Last, 50 concurrent builds
# must complete with no event lost.
set -euo pipefail
. "$(dirname "$0")/lib/qmf_common.bash"
PORT=${RMQ_PORT:-5672}

ensure_rabbitmq
start_daemon --max-concurrent-builds 50
wait_for_agent
echo "ok: agent found"

console states | grep -q "'FINISHING': ({'COMPLETED'" || fail "instance_states output"
console states ImageFactory >/dev/null 2>&1 || true
echo "ok: instance_states"

start_watcher "$WORK/events.jsonl"
build=$(console build --template '<template><name>e2e</name><mock_step_ms>100</mock_step_ms></template>' \
    --target mock)
[[ $build == build_adaptor:build_image:* ]] || fail "build printed '$build'"
console watch --until-done "$build" >/dev/null 2>&1 || fail "build did not complete"
[[ $(status_field "$build" status) == COMPLETED ]] || fail "status of $build"
[[ $(status_field "$build" percent_complete) == 100 ]] || fail "percent of $build"
console watch --until-done "$build" 2>/dev/null | grep -q "$build COMPLETED (ended before the watch began)" ||
    fail "watch of an ended job printed nothing"
sleep 1
check_events "$WORK/events.jsonl" "$build"
echo "ok: build_image completed with every event"

image=$(status_field "$build" image)
credentials='<provider_credentials><mock_credentials><username>u</username></mock_credentials></provider_credentials>'
push=$(console push --image "$image" --provider mock-provider --credentials "$credentials")
[[ $push == build_adaptor:push_image:* ]] || fail "push printed '$push'"
console watch --until-done "$push" >/dev/null 2>&1 || fail "push did not complete"
sleep 1
check_events "$WORK/events.jsonl" "$push"
echo "ok: push_image to mock-provider completed"

if console push --image "$image" --provider mock-provider --credentials /no/such/file 2>"$WORK/err"; then
    fail "push with a missing credentials file succeeded"
fi
grep -q "no regular file has that name" "$WORK/err" || fail "credentials error text"

imported=$(console import --target-identifier mock-ami-1 \
    --image-desc '<image><name>imported</name></image>' --target mock --provider mock-provider)
grep -q '^image: ' <<<"$imported" || fail "import printed '$imported'"
grep -q '^provider_image: ' <<<"$imported" || fail "import printed '$imported'"
echo "ok: import_image"

if console call no_such_method 2>"$WORK/err"; then
    fail "an unknown method succeeded"
fi
grep -q "Unknown method 'no_such_method'" "$WORK/err" || fail "exception text: $(cat "$WORK/err")"
echo "ok: unknown method gives the agent's exception"

slow=$(console build --template '<template><name>slow</name><mock_step_ms>3000</mock_step_ms></template>' \
    --target mock)
for _ in $(seq 1 50); do
    [[ $(status_field "$slow" status) == BUILDING ]] && break
    sleep 0.2
done
console abort "$slow" >/dev/null || fail "abort failed"
if console watch --until-done "$slow" >/dev/null 2>&1; then
    fail "watch reported the aborted build as completed"
fi
[[ $(status_field "$slow" status) == FAILED ]] || fail "aborted build is not FAILED"
if console abort "$slow" 2>/dev/null; then
    fail "aborting an ended build succeeded"
fi
echo "ok: abort of a running build"

targets=()
for _ in $(seq 1 50); do
    targets+=(--target mock)
done
mapfile -t many < <(console build \
    --template '<template><name>many</name><mock_step_ms>50</mock_step_ms></template>' "${targets[@]}")
[[ ${#many[@]} -eq 50 ]] || fail "50 builds printed ${#many[@]} addresses"
console --timeout 300 watch --until-done "${many[@]}" >/dev/null 2>&1 || fail "50 builds did not complete"
sleep 2
check_events "$WORK/events.jsonl" "${many[@]}"
echo "ok: 50 concurrent builds, no event lost"

kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "daemon exit status $?"
DAEMON_PID=
grep -q 'received SIGTERM' "$WORK/daemon.log" || fail "daemon did not log the signal"
echo "PASS"
