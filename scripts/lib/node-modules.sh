# npm ci only when node_modules is missing or older than package-lock.json (npm writes
# node_modules/.package-lock.json on every install, so its mtime says when the tree was last synced).
setup_node_modules() {
  if [ -f node_modules/.package-lock.json ] && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step_skipped "node_modules matches package-lock.json"
    return
  fi
  command -v npm >/dev/null || die "npm not found: install Node.js 20 (https://nodejs.org) and try again"
  quietly npm ci --no-audit --no-fund
  step_done "npm ci"
}
