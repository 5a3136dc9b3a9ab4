# Hook for the escrow program's toolchain (rustc-web, sbpf-linker) and its SBF build. Issue 4 wires it:
# programs/ is being written now, and its build recipe lives in shared/TOOLCHAIN.md.
setup_solana_program() {
  step_skipped "issue 4"
}
