#!/usr/bin/env bash
# Measures `appstream-agent-reconciler list` (the plain build) against the AWS CLI's
# `aws appstream describe-image-builders` on the same job: one fake AppStream (HTTPS, its
# throwaway CA) with 1,000 builders served 25 a page, so 40 signed requests each. Prints the
# median wall time and maximum RSS of RUNS runs of each, and their ratios. Both figures
# include the fake's own time to answer, which is the same for both.
#   bench/list_vs_cli.sh            RUNS=9 bench/list_vs_cli.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
runs=${RUNS:-5}
builders=1000
page_size=25

"$top/scripts/install-deps"
"$top/scripts/build" plain
bin="$top/build/appstream-agent-reconciler"
cli=/usr/bin/aws
gnu_time=/usr/bin/time

work=$(mktemp -d)
fake_pid=
cleanup() {
  [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

PYTHONPATH="$top/tests" /usr/bin/python3 -m fake_appstream --tls-dir "$work/tls" \
  --builders "$builders" --page-size "$page_size" >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 300); do
  grep -q LISTENING "$work/fake.out" 2>/dev/null && break
  kill -0 "$fake_pid" 2>/dev/null || { cat "$work/fake.err" >&2; exit 1; }
  sleep 0.1
done
url=$(awk '/^LISTENING/ {print $2}' "$work/fake.out")
[ -n "$url" ] || { echo "the fake AppStream did not start" >&2; exit 1; }

mkdir -p "$work/home" "$work/state"
cat >"$work/reconciler.conf" <<CONF
[aws]
region = us-east-1
endpoint = $url

[reconciler]
state_file = $work/state/state.json

[policy]
target = latest
window = always
CONF
chmod go-w "$work/reconciler.conf"  # whatever the umask: the daemon refuses a writable one

# The same isolated environment for both: the fake's credentials and CA, nothing from this
# machine's AWS set-up, no instance metadata lookups.
client=(env -i PATH=/usr/bin:/bin HOME="$work/home" LANG=C.UTF-8 TZ=UTC
  AWS_CONFIG_FILE="$work/home/config" AWS_SHARED_CREDENTIALS_FILE="$work/home/credentials"
  AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
  AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
  AWS_REGION=us-east-1 AWS_CA_BUNDLE="$work/tls/ca.pem" AWS_EC2_METADATA_DISABLED=true
  AWS_PAGER=)
list_cmd=("$bin" -c "$work/reconciler.conf" --json list)
cli_cmd=("$cli" appstream describe-image-builders --endpoint-url "$url" --region us-east-1
  --output json)

# Both must really list every builder before their times mean anything.
count_names() {
  /usr/bin/python3 -c 'import json, sys
doc = json.load(sys.stdin)
items = doc.get("builders", doc.get("ImageBuilders", []))
print(len({b.get("name", b.get("Name")) for b in items}))'
}
for name in list cli; do
  declare -n cmd="${name}_cmd"
  n=$("${client[@]}" "${cmd[@]}" | count_names)
  [ "$n" -eq "$builders" ] || { echo "$name listed $n builders, not $builders" >&2; exit 1; }
done

measure() { # name, command...: appends "seconds kilobytes" of one run to $work/<name>
  local name=$1
  shift
  if ! "${client[@]}" "$gnu_time" -f '%e %M' -o "$work/one" "$@" >/dev/null 2>"$work/err"; then
    echo "$name failed:" >&2
    cat "$work/err" >&2
    exit 1
  fi
  cat "$work/one" >>"$work/$name"
}
median() { # file, column
  sort -g -k"$2,$2" "$1" | awk -v c="$2" '{v[NR] = $c} END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Interleaved, so that a slow moment of the machine does not land on one side only.
for _ in $(seq "$runs"); do
  measure list "${list_cmd[@]}"
  measure cli "${cli_cmd[@]}"
done

list_s=$(median "$work/list" 1)
list_kb=$(median "$work/list" 2)
cli_s=$(median "$work/cli" 1)
cli_kb=$(median "$work/cli" 2)
printf '%s builders, %s a page, median of %s runs each\n' "$builders" "$page_size" "$runs"
printf '%-44s %8s s %8s KiB max RSS\n' "appstream-agent-reconciler list (plain)" "$list_s" "$list_kb"
printf '%-44s %8s s %8s KiB max RSS\n' "aws appstream describe-image-builders" "$cli_s" "$cli_kb"
awk -v ls="$list_s" -v lk="$list_kb" -v cs="$cli_s" -v ck="$cli_kb" 'BEGIN {
  printf "ratio (aws / list): wall time %.1fx, max RSS %.1fx\n", cs / ls, ck / lk }'
