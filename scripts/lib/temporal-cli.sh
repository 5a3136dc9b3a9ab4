# The Temporal CLI carries the dev server and its Web UI. Built from source with Go: release
# downloads are not reachable from every machine, the Go module proxy is. v1.5.1 is the newest tag
# that `go install` accepts here (shared/TOOLCHAIN.md).
TEMPORAL_CLI_VERSION=1.5.1

# `go install` builds report "0.0.0-DEV" from --version; the module version is in the build info.
temporal_cli_version() {
  local cli=$1 version
  version=$(go version -m "$cli" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/temporalio/cli" { print $3 }')
  if [ -z "$version" ]; then
    version=$("$cli" --version 2>/dev/null | sed -n 's/^temporal version \([0-9.]*\).*/v\1/p')
  fi
  echo "${version#v}"
}

setup_temporal_cli() {
  if [ -n "${TEMPORAL_CLI:-}" ]; then
    # An explicit path is the operator's choice: check it runs, don't replace it.
    [ -x "$TEMPORAL_CLI" ] || die "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file"
    step_skipped "TEMPORAL_CLI=$TEMPORAL_CLI, version $(temporal_cli_version "$TEMPORAL_CLI")"
    return
  fi
  local cli="$HOME/go/bin/temporal"
  if [ -x "$cli" ] && [ "$(temporal_cli_version "$cli")" = "$TEMPORAL_CLI_VERSION" ]; then
    step_skipped "$cli is $TEMPORAL_CLI_VERSION"
    return
  fi
  command -v go >/dev/null || die "Go not found: install Go >= 1.24 (https://go.dev/dl) and try again"
  # GOBIN pinned so that the engine's default path (~/go/bin/temporal) finds it whatever GOPATH says.
  GOBIN="$HOME/go/bin" quietly go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
  step_done "go install temporal@v$TEMPORAL_CLI_VERSION"
}
