# Schemathesis (PyPI) fuzzes the API from its own OpenAPI document in the tests
# (test/integration/api/schemathesis.test.ts). It gets a virtual environment of its own under the cache,
# so nothing lands in the machine's Python and a second run costs a version check. Pinned: 4.32.5 is the
# newest release, and it installs on this machine's Python 3.11 (checked 2026-12-01; it needs >= 3.10).
# Tests and CI only. Sourced by scripts/setup.sh.
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_HOME=${SCHEMATHESIS_HOME:-$HOME/.cache/lease-engine/schemathesis-$SCHEMATHESIS_VERSION}

setup_schemathesis() {
  local cli="$SCHEMATHESIS_HOME/bin/schemathesis" python
  if [ -x "$cli" ] && [ "$("$cli" --version 2>/dev/null)" = "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    step_skipped "$SCHEMATHESIS_HOME is $SCHEMATHESIS_VERSION"
    return
  fi
  python=$(command -v python3) || die "python3 not found: install Python >= 3.10 and try again"
  "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
    die "schemathesis $SCHEMATHESIS_VERSION needs Python >= 3.10; $python is $("$python" --version 2>&1)"
  # Debian's python3 has no venv module until python3-venv is installed.
  if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
  fi
  rm -rf "$SCHEMATHESIS_HOME"
  quietly "$python" -m venv "$SCHEMATHESIS_HOME"
  quietly "$SCHEMATHESIS_HOME/bin/pip" install --disable-pip-version-check --no-input "schemathesis==$SCHEMATHESIS_VERSION"
  [ "$("$cli" --version 2>/dev/null)" = "schemathesis, version $SCHEMATHESIS_VERSION" ] ||
    die "pip installed schemathesis but $cli does not report $SCHEMATHESIS_VERSION"
  step_done "pip install schemathesis==$SCHEMATHESIS_VERSION into $SCHEMATHESIS_HOME"
}
