#!/usr/bin/env bash
# Builds the lease_escrow program to SBF: programs/lease_escrow/target/deploy/lease_escrow.so.
#
# The recipe is shared/TOOLCHAIN.md "Solana program (SBF)": Debian's Rust (whose library source matches its
# compiler, for -Zbuild-std), upstream target bpfel-unknown-none, and sbpf-linker 0.1.9 loading the same LLVM 22
# that wrote the bitcode. Anchor's Rust crate and `cargo build-sbf` cannot be used here (no std for BPF, no
# download of Solana's platform tools).
#
# Idempotent and cheap when nothing changed: a hash of the sources, the toolchain and this script is kept beside
# the .so, and the build is skipped while it matches. `--force` rebuilds anyway. Missing tools are installed
# (apt, cargo install) unless LEASE_ESCROW_NO_INSTALL=1. Safe to run concurrently: builds take a lock.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
program="$root/programs/lease_escrow"
target="$program/target"
so="$target/deploy/lease_escrow.so"
stamp="$target/deploy/lease_escrow.so.sources-sha256"
sbpf_version="0.1.9"
llvm_lib="/usr/lib/x86_64-linux-gnu/libLLVM.so.22.1"
rust_library_src="/usr/lib/rustlib/src/rust/library"

log() { echo "build-program: $*" >&2; }

may_install() {
  if [[ "${LEASE_ESCROW_NO_INSTALL:-}" == "1" ]]; then
    log "missing: $1 (and LEASE_ESCROW_NO_INSTALL=1)"
    exit 1
  fi
}

ensure_debian_rust() {
  if [[ -x /usr/bin/cargo && -x /usr/bin/rustc && -d "$rust_library_src" && -e "$llvm_lib" ]]; then
    return
  fi
  may_install "Debian Rust (rustc-web cargo-web rust-web-src)"
  log "installing rustc-web cargo-web rust-web-src"
  apt-get install -y rustc-web cargo-web rust-web-src >&2 ||
    { apt-get update >&2 && apt-get install -y rustc-web cargo-web rust-web-src >&2; }
  [[ -e "$llvm_lib" ]] || { log "expected $llvm_lib after installing rustc-web"; exit 1; }
}

find_sbpf_linker() {
  local candidate
  for candidate in "$(command -v sbpf-linker || true)" "${CARGO_HOME:-$HOME/.cargo}/bin/sbpf-linker"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then
      echo "$candidate"
      return
    fi
  done
}

ensure_sbpf_linker() {
  local linker
  linker="$(find_sbpf_linker)"
  if [[ -z "$linker" ]]; then
    may_install "sbpf-linker $sbpf_version"
    log "installing sbpf-linker $sbpf_version (about 2.5 minutes)"
    # rustup's cargo, as in the recipe; 0.2.x needs LLVM 23.
    "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" install "sbpf-linker@$sbpf_version" --locked >&2
    linker="$(find_sbpf_linker)"
  fi
  echo "$linker"
}

sources_hash() {
  {
    (cd "$program" && find Cargo.toml Cargo.lock src -type f | LC_ALL=C sort | xargs sha256sum)
    sha256sum "$root/scripts/build-program.sh"
    /usr/bin/rustc --version
  } | sha256sum | cut -d' ' -f1
}

up_to_date() {
  [[ -f "$so" && -f "$stamp" && "$(cat "$stamp")" == "$(sources_hash)" ]]
}

main() {
  local force=0
  [[ "${1:-}" == "--force" ]] && force=1
  ensure_debian_rust
  if [[ $force == 0 ]] && up_to_date; then
    log "up to date: ${so#"$root"/}"
    return
  fi
  mkdir -p "$target/deploy"
  exec 9>"$target/.build-program.lock"
  flock 9
  # Another build may have finished while this one waited for the lock.
  if [[ $force == 0 ]] && up_to_date; then
    log "up to date: ${so#"$root"/}"
    return
  fi
  local linker
  linker="$(ensure_sbpf_linker)"
  # sbpf-linker dlopens libLLVM from LD_LIBRARY_PATH: give it a folder holding only LLVM 22, the version that
  # wrote the bitcode (otherwise it aborts, or finds LLVM 14).
  mkdir -p "$target/sbpf-llvm"
  ln -sfn "$llvm_lib" "$target/sbpf-llvm/$(basename "$llvm_lib")"

  local started=$SECONDS hash
  hash="$(sources_hash)"
  rm -f "$stamp"
  log "building ${so#"$root"/}"
  (
    cd "$program"
    PATH="/usr/bin:$PATH" \
      RUSTC=/usr/bin/rustc \
      RUSTC_BOOTSTRAP=1 \
      LD_LIBRARY_PATH="$target/sbpf-llvm" \
      CARGO_TARGET_BPFEL_UNKNOWN_NONE_LINKER="$linker" \
      /usr/bin/cargo build --release --locked --target bpfel-unknown-none -Zbuild-std=core,alloc >&2
  )
  # An ELF for machine 247 (BPF), or the link went wrong in a way cargo did not notice.
  if [[ ! -s "$so" ]] || [[ "$(od -An -tu2 -j18 -N2 "$so" | tr -d ' ')" != "247" ]]; then
    log "no SBF ELF at ${so#"$root"/}"
    exit 1
  fi
  echo "$hash" >"$stamp"
  log "built ${so#"$root"/} ($(stat -c %s "$so") bytes) in $((SECONDS - started)) s"
}

main "$@"
