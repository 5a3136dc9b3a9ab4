# The control worker built ahead (scripts/build-control-worker.ts): the workflow bundle and the worker compiled
# to JavaScript, so that a control worker polls within seconds of a restart. Skipped while sources are unchanged.
setup_control_worker_build() {
  local out
  out=$(node --import tsx scripts/build-control-worker.ts 2>&1) || { echo "$out" >&2; die "building the control worker ahead failed"; }
  if [[ $out != *built* ]]; then
    step_skipped "up to date"
  else
    step_done "$(tr ';' '\n' <<<"$out" | grep built | sed 's/^ *//' | paste -sd ';' -)"
  fi
}
