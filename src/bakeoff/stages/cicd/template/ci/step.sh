#!/bin/sh
# The one entry point every CI setup calls, from the repository root: sh ci/step.sh STEP [ARGS].
# It reads this machine's site file and appends when the step started and ended to the shared
# timeline, so every tool's jobs are timed by the same clock.
set -u
. "$(dirname "$0")/site.env"
step=$1
shift
revision=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
label=$step${MODEL_CONFIG:+:$MODEL_CONFIG}
start=$(date +%s.%N)
REVISION=$revision STEP=$label "$PYTHON" ci/steps.py "$step" "$@"
code=$?
printf '{"kind": "step", "revision": "%s", "step": "%s", "start": %s, "end": %s, "code": %s}\n' \
  "$revision" "$label" "$start" "$(date +%s.%N)" "$code" >> "$TIMELINE"
exit $code
