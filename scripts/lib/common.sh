# Shared helpers for scripts/setup.sh: one line per step, verbose tool output kept in a log.
# Sourced, not executed.

SETUP_LOG="${SETUP_LOG:-/tmp/lease-engine-setup.log}"
APT_UPDATED=0

# run_step LABEL FUNCTION: runs FUNCTION, which ends by calling step_done or step_skipped, and prints
# "setup: LABEL: done|skipped (why, N.Ns)" on one line.
run_step() {
  local label=$1 fn=$2 started elapsed_ms
  started=$(date +%s%N)
  STEP_RESULT="done"
  STEP_NOTE=""
  CURRENT_STEP=$label
  "$fn"
  elapsed_ms=$((($(date +%s%N) - started) / 1000000))
  printf 'setup: %-16s %s (%s%d.%01ds)\n' "$label:" "$STEP_RESULT" "${STEP_NOTE:+$STEP_NOTE, }" \
    $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))
}

step_done() { STEP_RESULT="done"; STEP_NOTE=${1:-}; }
step_skipped() { STEP_RESULT="skipped"; STEP_NOTE=${1:-}; }

# Stops setup with a message that says what to do, not a stack of tool output.
die() {
  echo "setup: ${CURRENT_STEP:-setup}: $*" >&2
  exit 1
}

# Runs a noisy command with its output in the log; on failure shows the log's tail and stops.
quietly() {
  echo "\$ $*" >>"$SETUP_LOG"
  if ! "$@" >>"$SETUP_LOG" 2>&1; then
    echo "setup: ${CURRENT_STEP:-setup}: '$*' failed; last lines of $SETUP_LOG:" >&2
    tail -n 30 "$SETUP_LOG" >&2
    exit 1
  fi
}

is_root() { [ "$(id -u)" = "0" ]; }

package_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    quietly apt-get update
    APT_UPDATED=1
  fi
}

# True when apt can install PKG; refreshes the package lists once if they don't know it yet.
apt_has_candidate() {
  # Captured first: `grep -q` quits early, and under pipefail apt-cache's SIGPIPE would read as "no".
  local policy
  policy=$(apt-cache policy "$1" 2>/dev/null || true)
  [[ $policy == *"Candidate: "[0-9]* ]] && return 0
  [ "$APT_UPDATED" = 1 ] && return 1
  apt_update_once
  policy=$(apt-cache policy "$1" 2>/dev/null || true)
  [[ $policy == *"Candidate: "[0-9]* ]]
}

# apt_install PKG...: installs what is missing; `apt-get update` at most once per run, only when needed.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do package_installed "$pkg" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  is_root || die "needs ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' and try again"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive quietly apt-get install -y --no-install-recommends "${missing[@]}"
}
