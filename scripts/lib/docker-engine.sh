# The Docker engine that host agents run lease containers on. Containers never get addresses of their
# own (network none or host), so dockerd runs without a bridge or iptables rules.
DOCKERD_LOG=/tmp/lease-engine-dockerd.log
DOCKERD_START_HELP="start it with: sudo sh -c 'nohup dockerd --bridge=none --iptables=false --ip6tables=false >$DOCKERD_LOG 2>&1 &'"

docker_answers() { docker info >/dev/null 2>&1; }

wait_for_docker() {
  local i
  for i in $(seq 1 120); do
    docker_answers && return 0
    sleep 0.5
  done
  echo "setup: docker engine: no answer after 60 s; last lines of $DOCKERD_LOG:" >&2
  tail -n 20 "$DOCKERD_LOG" >&2 || true
  exit 1
}

setup_docker_engine() {
  local installed=""
  if ! command -v dockerd >/dev/null; then
    is_root || die "no Docker engine: run 'sudo apt-get install -y docker.io busybox-static', then $DOCKERD_START_HELP"
    apt_install docker.io
    installed="installed docker.io, "
  fi
  if docker_answers; then
    step_skipped "${installed}engine answering"
    return
  fi
  if pgrep -x dockerd >/dev/null; then
    # Someone else (another shell, systemd) is starting it: wait rather than start a second one.
    wait_for_docker
    step_done "${installed}waited for the running dockerd"
    return
  fi
  is_root || die "the Docker engine is not running: $DOCKERD_START_HELP"
  # A pid file left by a dockerd that died stops the next one from starting.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  # setsid: the engine outlives this shell and is not hit by a Ctrl-C meant for `npm start`.
  setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false >"$DOCKERD_LOG" 2>&1 </dev/null &
  wait_for_docker
  step_done "${installed}started dockerd, log $DOCKERD_LOG"
}
