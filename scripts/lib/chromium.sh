# Debian's Chromium, which the dashboard's browser test drives with playwright-core (a browser download
# does not work here: no host but the package registries is reachable). Tests and CI only.
CHROMIUM_BIN=/usr/bin/chromium

setup_chromium() {
  if [ -x "$CHROMIUM_BIN" ]; then
    step_skipped "$CHROMIUM_BIN present"
    return
  fi
  if ! is_root; then
    step_skipped "not root; the dashboard test will fail: run 'sudo apt-get install -y chromium'"
    return
  fi
  apt_install chromium
  [ -x "$CHROMIUM_BIN" ] || die "apt installed chromium but $CHROMIUM_BIN is missing"
  step_done "installed chromium $("$CHROMIUM_BIN" --version 2>/dev/null | awk '{print $2}')"
}
