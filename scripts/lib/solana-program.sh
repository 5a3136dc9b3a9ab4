# The escrow program (programs/lease_escrow) built to SBF. scripts/build-program.sh installs its toolchain
# when missing (Debian rustc-web, sbpf-linker) and skips the build while the sources are unchanged.
setup_solana_program() {
  local out
  out=$(bash scripts/build-program.sh 2>&1) || { echo "$out" >&2; die "building programs/lease_escrow failed"; }
  if grep -q "up to date" <<<"$out"; then
    step_skipped "lease_escrow.so up to date"
  else
    step_done "built programs/lease_escrow/target/deploy/lease_escrow.so"
  fi
}
