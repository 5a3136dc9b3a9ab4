# docker-compose validates docker-compose.yml in the tests (`docker-compose config`); it is not needed
# to run the engine. Debian ships Compose v1 (1.29), enough to check the file against the schema.
setup_docker_compose() {
  if command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1; then
    step_skipped "present"
    return
  fi
  if ! is_root; then
    step_skipped "not root; the compose test falls back to parsing the YAML (sudo apt-get install -y docker-compose)"
    return
  fi
  if ! apt_has_candidate docker-compose; then
    step_skipped "no docker-compose package on this apt source; the compose test parses the YAML instead"
    return
  fi
  apt_install docker-compose
  step_done "installed docker-compose"
}
