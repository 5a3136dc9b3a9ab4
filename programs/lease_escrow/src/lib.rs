//! Escrow for GPU leases (shared/DESIGN.md §4).
//!
//! Written with Pinocchio so that it builds to SBF with upstream Rust, but its interface is Anchor's: 8-byte
//! discriminators, borsh layouts, events through `sol_log_data` and the IDL in `idl/lease_escrow.json`, so that
//! `@coral-xyz/anchor` drives it like any Anchor program.
//!
//! Three limits of the upstream BPF toolchain (sbpf-linker 0.1.9, LLVM 22) shape the code, and the build fails
//! or the program faults when they are crossed:
//! - at most five argument registers: functions that are not inlined take few arguments (context structs);
//! - no 128-bit multiply or divide (`__multi3`, `__udivti3`): economics.rs is u64 arithmetic only;
//! - pointers stored inside read-only data are not relocated: no `&[CONST_SLICE]` tables (they are promoted to
//!   statics holding pointers); build such arrays from values at run time. A fault reads as "Access violation
//!   in unknown section" at a small address; the LiteSVM tests run every instruction and every error path.
#![cfg_attr(not(test), no_std)]

pub mod codec;
pub mod discriminator;
pub mod economics;
pub mod error;
pub mod events;
pub mod instructions;
pub mod log;
pub mod processor;
pub mod program_data;
pub mod state;
pub mod validate;

/// 9 fixed accounts of `close_lease` plus one token account per provider, and a little slack.
pub const MAX_ACCOUNTS: usize = 9 + economics::MAX_PAYOUTS + 7;

pinocchio::program_entrypoint!(processor::process_instruction, { MAX_ACCOUNTS });
// Every buffer lives on the stack: a heap allocation is a bug, and this allocator makes it a loud one.
pinocchio::no_allocator!();
pinocchio::nostd_panic_handler!();
