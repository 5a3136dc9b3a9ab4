# Temporal's real server and its schema tool, for the cluster topology (Temporal on PostgreSQL).
# Built from the Go module proxy like the CLI: release downloads are not reachable from every machine.
# v1.29.1 is the server the CLI v1.5.1 embeds, so workflows behave the same on both topologies.
# The module's PostgreSQL schemas and sample configs are copied next to the binaries, so the install
# survives a `go clean -modcache`. Sourced by scripts/setup.sh and run directly by
# scripts/cluster/install-temporal-server.sh.
TEMPORAL_SERVER_VERSION=1.29.1
TEMPORAL_SERVER_HOME=${TEMPORAL_SERVER_HOME:-$HOME/.cache/lease-engine/temporal-server-$TEMPORAL_SERVER_VERSION}

# The module version a binary was built from, read from its Go build info ("" when unknown): the
# binary's own module ("mod"), the server module when built through a module that requires it.
temporal_server_built_version() {
  go version -m "$1" 2>/dev/null | awk '($1 == "mod" || $1 == "dep") && $2 == "go.temporal.io/server" { print $3 }' | sed 's/^v//'
}

temporal_server_installed() {
  local home=$TEMPORAL_SERVER_HOME
  [ -x "$home/bin/temporal-server" ] && [ -x "$home/bin/temporal-sql-tool" ] &&
    [ -d "$home/schema/postgresql/v12/temporal/versioned" ] &&
    [ -d "$home/schema/postgresql/v12/visibility/versioned" ] &&
    [ -f "$home/config/development-postgres12.yaml" ] &&
    [ "$(temporal_server_built_version "$home/bin/temporal-server")" = "$TEMPORAL_SERVER_VERSION" ]
}

setup_temporal_server() {
  if temporal_server_installed; then
    step_skipped "$TEMPORAL_SERVER_HOME is $TEMPORAL_SERVER_VERSION"
    return
  fi
  command -v go >/dev/null || die "Go not found: install Go >= 1.24 (https://go.dev/dl) and try again"
  local work module
  work=$(mktemp -d)
  # A throwaway module that depends on the server: `go install pkg@version` refuses modules with
  # replace directives, `go build` inside a module that requires it does not.
  (
    cd "$work"
    quietly go mod init lease-engine/temporal-server
    printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "go.temporal.io/server/cmd/server"\n\t_ "go.temporal.io/server/cmd/tools/sql"\n)\n' >tools.go
    GOFLAGS=-mod=mod quietly go get "go.temporal.io/server@v$TEMPORAL_SERVER_VERSION"
    mkdir -p bin
    GOFLAGS=-mod=mod quietly go build -o bin/temporal-server go.temporal.io/server/cmd/server
    GOFLAGS=-mod=mod quietly go build -o bin/temporal-sql-tool go.temporal.io/server/cmd/tools/sql
  ) || { rm -rf "$work"; exit 1; }
  module=$(cd "$work" && go list -m -f '{{.Dir}}' go.temporal.io/server) ||
    { rm -rf "$work"; die "go.temporal.io/server@v$TEMPORAL_SERVER_VERSION is not in the module cache"; }
  # Assembled aside and moved into place at once, so an interrupted build never looks installed.
  local staged="$TEMPORAL_SERVER_HOME.partial"
  rm -rf "$staged"
  mkdir -p "$staged/schema/postgresql" "$staged/config/dynamicconfig"
  mv "$work/bin" "$staged/bin"
  cp -R "$module/schema/postgresql/v12" "$staged/schema/postgresql/"
  cp "$module/config/development-postgres12.yaml" "$staged/config/"
  cp "$module/config/dynamicconfig/development-sql.yaml" "$staged/config/dynamicconfig/"
  chmod -R u+w "$staged"
  rm -rf "$work" "$TEMPORAL_SERVER_HOME"
  mv "$staged" "$TEMPORAL_SERVER_HOME"
  step_done "built temporal-server and temporal-sql-tool $TEMPORAL_SERVER_VERSION into $TEMPORAL_SERVER_HOME"
}
