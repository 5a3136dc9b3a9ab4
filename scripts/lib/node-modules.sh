# Installs node modules only when node_modules is missing or older than package-lock.json (npm writes
# node_modules/.package-lock.json on every install, so its mtime says when the tree was last synced).
#
# `npm install`, not `npm ci`: litesvm 0.8 lists optional platform packages (darwin, linux-arm64) that were
# never published at that version, so the lock file cannot hold them and `npm ci` refuses it as out of
# sync. `npm install` skips a missing optional package and installs the locked versions of everything else.
setup_node_modules() {
  if [ -f node_modules/.package-lock.json ] && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step_skipped "node_modules matches package-lock.json"
    return
  fi
  command -v npm >/dev/null || die "npm not found: install Node.js 20 (https://nodejs.org) and try again"
  quietly npm install --no-audit --no-fund
  step_done "npm install (locked versions)"
}
