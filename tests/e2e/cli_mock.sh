#!/bin/bash
# The one-shot command line on the mock target and a mock provider: build, push and import
# through the built binary, with the stored lineage checked after each, and its failure paths.
. "$(dirname "$0")/lib.bash"

run() { "$imagefactory" --imgdir "$data" "$@"; }

# Build
run --template "$IF_SOURCE_DIR/examples/mock.tdl" --target mock >"$work/build.out" 2>"$work/build.err"
check "build exits 0" [ $? -eq 0 ]
check "build prints its ids" grep -q "^Building build .* of image .* to target mock" "$work/build.out"
check "build ends COMPLETED" grep -q "^mock: COMPLETED" "$work/build.out"
check "progress reaches 100%" grep -q ": 100%" "$work/build.err"

run images --output json >"$work/images.json"
check "one image listed" [ "$(json_field "$work/images.json" 'len(d)')" = 1 ]
image=$(json_field "$work/images.json" 'd[0]["id"]')
build=$(json_field "$work/images.json" 'd[0]["latest_unpushed"]')
check "image has latest_unpushed" [ -n "$build" ]
run show "$build" --output json >"$work/build.json"
check "build belongs to image" [ "$(json_field "$work/build.json" 'd["image"]')" = "$image" ]
check "target image completed" \
    [ "$(json_field "$work/build.json" 'd["target_images"][0]["status"]')" = COMPLETED ]
target_image=$(json_field "$work/build.json" 'd["target_images"][0]["id"]')
file=$(json_field "$work/build.json" 'd["target_images"][0]["file"]')
check "target image body exists" [ -s "$data/$file" ]
run log "$target_image" >"$work/log.txt"
check "build log readable" grep -q "mock build started" "$work/log.txt"

# Push
credentials="$work/credentials.xml"
echo '<provider_credentials><mock_credentials><username>alice</username><password>pw-do-not-log</password></mock_credentials></provider_credentials>' >"$credentials"
run --verbose --image "$image" --provider mock-cloud --credentials "$credentials" \
    >"$work/push.out" 2>"$work/push.err"
check "push exits 0" [ $? -eq 0 ]
check "push prints its ids" grep -q "^Pushing build $build of image $image to provider mock-cloud" \
    "$work/push.out"
run show "$target_image" --output json >"$work/ti.json"
provider_image=$(json_field "$work/ti.json" 'd["provider_images"][0]["id"]')
check "provider image identifier" [ "$(json_field "$work/ti.json" \
    'd["provider_images"][0]["target_identifier"]')" = "Mock_mock-cloud_$provider_image" ]
check "provider account" [ "$(json_field "$work/ti.json" \
    'd["provider_images"][0]["provider_account_identifier"]')" = alice ]
run show "$image" --output json >"$work/image.json"
check "image latest_build after push" [ "$(json_field "$work/image.json" 'd["latest_build"]')" = "$build" ]
check "image latest_unpushed cleared" [ "$(json_field "$work/image.json" 'd["latest_unpushed"]')" = "" ]
check "password not in logs" bash -c "! grep -q pw-do-not-log '$work/push.err' '$work/push.out'"
check "password not in data dir" bash -c "! grep -rq pw-do-not-log '$data'"

# Import, twice: the same ids
run --target-image ami-0042 --image-desc '<image><name>Imported</name></image>' \
    --target mock --provider mock-cloud >"$work/import1.out"
check "import exits 0" [ $? -eq 0 ]
run --target-image ami-0042 --image-desc '<image><name>Imported</name></image>' \
    --target mock --provider mock-cloud >"$work/import2.out"
check "import twice gives the same ids" cmp -s "$work/import1.out" "$work/import2.out"
imported=$(awk '/^provider_image/ {print $2}' "$work/import1.out")
run show "$imported" --output json >"$work/pi.json"
check "imported provider image identifier" \
    [ "$(json_field "$work/pi.json" 'd["target_identifier"]')" = ami-0042 ]

# Failure paths
run --template '<template>FAIL</template>' --target mock >"$work/fail.out" 2>&1
check "failing build exits 1" [ $? -eq 1 ]
check "failure info printed" grep -q "Testing failure conditions via mock target builder" "$work/fail.out"

run --template '<template><name>x</template>' --target mock >"$work/bad.out" 2>&1
status=$?
check "malformed template exits 2" [ $status -eq 2 ]
check "malformed template message" grep -q "not well-formed" "$work/bad.out"

run --template 'not a template at all' --target mock >"$work/garbage.out" 2>&1
check "unclassifiable template names the value" grep -q "not a template at all" "$work/garbage.out"

run --template "$IF_SOURCE_DIR/examples/mock.tdl" --target nebula >"$work/target.out" 2>&1
check "unknown target names known ones" grep -q "unknown target 'nebula'; known targets: .*mock" \
    "$work/target.out"

run --image "$image" --provider mock-cloud --credentials '<creds/>' >"$work/creds.out" 2>&1
check "bad credentials rejected" grep -q "provider_credentials" "$work/creds.out"

# Provider definitions: a name from providers.json in --providers-dir, and no fallback for an
# unknown name.
mkdir -p "$work/providers"
echo '{"lab": {"target": "mock"}}' >"$work/providers/providers.json"
run --providers-dir "$work/providers" --image "$image" --provider lab \
    --credentials "$credentials" >"$work/lab.out" 2>&1
check "push to a defined provider exits 0" [ $? -eq 0 ]
run show "$target_image" --output json >"$work/ti2.json"
check "defined provider recorded by its name" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if "lab" in [p["provider"] for p in d["provider_images"]] else 1)' \
    "$work/ti2.json"
run --providers-dir "$work/providers" --image "$image" --provider nebula \
    --credentials "$credentials" >"$work/nebula.out" 2>&1
check "unknown provider exits 3 (not found)" [ $? -eq 3 ]
check "unknown provider lists known ones" \
    grep -q 'unknown provider "nebula"; known providers: lab, ec2-<region>, rackspace, mock\*' \
    "$work/nebula.out"
run --providers-dir "$work/no-such-folder" --image "$image" --provider lab \
    --credentials "$credentials" >"$work/nodir.out" 2>&1
check "missing --providers-dir named" grep -q "providers folder $work/no-such-folder does not exist" \
    "$work/nodir.out"
run --image "$image" --provider ec2-us-east-1 --credentials "$credentials" >"$work/ec2.out" 2>&1
check "provider of a target without push driver named" grep -q "target ec2, which this factory" \
    "$work/ec2.out"
run --image "$image" --provider '{"target": "mock", "name": "inline-1"}' \
    --credentials "$credentials" >"$work/inline.out" 2>&1
check "inline JSON provider exits 0" [ $? -eq 0 ]
echo '{"lab": {"target": "mock", "password": "pw-do-not-log"' >"$work/providers/providers.json"
run --providers-dir "$work/providers" --image "$image" --provider lab \
    --credentials "$credentials" >"$work/badproviders.out" 2>&1
check "broken providers.json named" grep -q "providers.json is not valid JSON" "$work/badproviders.out"
check "broken providers.json not quoted" bash -c "! grep -q pw-do-not-log '$work/badproviders.out'"

"$imagefactory" >"$work/help.out" 2>&1
check "no arguments prints help" grep -q -- "--template" "$work/help.out"
check "version" bash -c "'$imagefactory' --version | grep -q '^imagefactory '"

echo '{"imgdir": ' >"$work/broken.conf"
"$imagefactory" --config "$work/broken.conf" images >"$work/conf.out" 2>&1
check "broken config names the file" grep -q "broken.conf is not valid JSON" "$work/conf.out"
echo '{"imgdir": "'"$data"'", "max_concurrent_local_sessions": "3", "verbose": true}' >"$work/good.conf"
"$imagefactory" --config "$work/good.conf" images --output json >"$work/conf-images.json"
check "config file supplies imgdir" [ "$(json_field "$work/conf-images.json" 'len(d)')" -ge 2 ]
echo '{"timeout": [1]}' >"$work/typed.conf"
"$imagefactory" --config "$work/typed.conf" images >"$work/typed.out" 2>&1
check "wrongly typed config value named" grep -q "key 'timeout' must be a whole number" "$work/typed.out"

# SIGTERM during a build aborts it and records why.
# Started directly, not through run(): a backgrounded shell function is a subshell, and the
# signal must reach imagefactory itself.
"$imagefactory" --imgdir "$data" \
    --template '<template><name>slow</name><mock_step_ms>3000</mock_step_ms></template>' \
    --target mock >"$work/slow.out" 2>&1 &
pid=$!
for _ in $(seq 50); do
    grep -q "PENDING -> BUILDING" "$work/slow.out" 2>/dev/null && break
    sleep 0.1
done
kill -TERM $pid
wait $pid
check "SIGTERM ends the build with status 1" [ $? -eq 1 ]
check "aborted job reported" grep -q "FAILED .*(Aborted)" "$work/slow.out"

finish
