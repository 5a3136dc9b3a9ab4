//! Named errors. Each is a custom program error with Anchor's numbering (the program's own from 6000, the few
//! framework errors with Anchor's own codes), and each logs Anchor's `AnchorError occurred. ...` line so that
//! `AnchorError.parse` and `translateError` in `@coral-xyz/anchor` name it on the client.

use pinocchio::error::ProgramError;

macro_rules! named_errors {
    ($(#[$meta:meta])* $enum:ident { $($(#[$vmeta:meta])* $name:ident = $code:literal : $msg:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum $enum {
            $($(#[$vmeta])* $name = $code,)*
        }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$name,)*];

            pub const fn code(self) -> u32 {
                self as u32
            }

            pub const fn name(self) -> &'static str {
                match self { $($enum::$name => stringify!($name),)* }
            }

            pub const fn message(self) -> &'static str {
                match self { $($enum::$name => $msg,)* }
            }

            /// Built at compile time, so logging an error costs one syscall and no formatting.
            pub const fn log_line(self) -> &'static str {
                match self {
                    $($enum::$name => concat!(
                        "AnchorError occurred. Error Code: ", stringify!($name),
                        ". Error Number: ", stringify!($code),
                        ". Error Message: ", $msg, "."
                    ),)*
                }
            }

            pub const fn from_code(code: u32) -> Option<Self> {
                match code { $($code => Some($enum::$name),)* _ => None }
            }
        }

        impl From<$enum> for ProgramError {
            fn from(e: $enum) -> Self {
                ProgramError::Custom(e as u32)
            }
        }
    };
}

named_errors! {
    /// The program's own errors; the same list, in the same order, is `errors` in `idl/lease_escrow.json`.
    EscrowError {
        NotAdmin = 6000: "The signer is not the config admin",
        NotSettlementAuthority = 6001: "The signer is not the settlement authority",
        NotCustomer = 6002: "The account is not the lease's customer",
        MissingSignature = 6003: "A required signer did not sign",
        InvalidConfig = 6004: "The config account is not this program's config",
        AlreadyInitialized = 6005: "The account is already initialized",
        InvalidLease = 6006: "The lease account is not a lease of this program",
        InvalidLeaseAddress = 6007: "The lease account is not the address derived from the lease id",
        InvalidVault = 6008: "The vault is not this lease's vault",
        MintMismatch = 6009: "The token account or mint is not of the payment mint",
        InvalidMint = 6010: "The mint is not an initialized SPL Token mint",
        InvalidTokenAccount = 6011: "The account is not an initialized SPL Token account",
        InvalidTreasury = 6012: "The treasury is not the configured treasury",
        InvalidProgram = 6013: "A program account is not the expected program",
        NotCustomerTokenAccount = 6014: "The token account is not owned by the lease's customer",
        LeaseNotOpen = 6015: "The lease is not open",
        PeriodNotIncreasing = 6016: "The period is not after the last settled period",
        RateExceeded = 6017: "Payouts would exceed the max rate times the time since the lease started",
        DepositExceeded = 6018: "Payouts would exceed the deposit",
        LeaseNotExpired = 6019: "The lease cannot be reclaimed before its end plus the grace period",
        ArithmeticOverflow = 6020: "Arithmetic overflow",
        InvalidBps = 6021: "Fee and burn shares are basis points, at most 10000",
        PayoutAccountsMismatch = 6022: "One provider token account is needed per payout amount",
        TooManyPayouts = 6023: "Too many payouts in one settlement",
        PayeeIsVault = 6024: "A payout cannot go to the lease's own vault",
        ZeroAmount = 6025: "The amount must be positive",
        InvalidDuration = 6026: "The duration must be positive",
        InvalidRate = 6027: "The max rate per second must be positive",
        VaultBalanceMismatch = 6028: "The vault holds less than the lease's unspent deposit",
        NotWritable = 6029: "An account the instruction writes is not marked writable",
        LeaseEndExceeded = 6030: "Payouts would exceed the max rate times the lease's duration: no time after its end is payable",
        GraceTooShort = 6031: "The reclaim grace is shorter than the program's minimum",
        InvalidAllowance = 6032: "The allowance is not this program's delegate PDA of the customer",
        BeyondWindow = 6033: "The lease's end would reach beyond its window from now",
        DepositBeyondTerms = 6034: "The deposit exceeds the max rate times the seconds it buys",
        NotUpgradeAuthority = 6035: "The signer is not the program's upgrade authority",
        InvalidProgramData = 6036: "The program data account is not this program's ProgramData under the upgradeable loader",
        ProgramImmutable = 6037: "The program has no upgrade authority: initialize the config before making it immutable",
    }
}

named_errors! {
    /// Anchor's framework errors that this program can raise, with Anchor's codes and messages.
    AnchorLangError {
        InstructionMissing = 100: "Instruction discriminator not provided",
        InstructionFallbackNotFound = 101: "Fallback functions are not supported",
        InstructionDidNotDeserialize = 102: "The program could not deserialize the given instruction",
        AccountDidNotDeserialize = 3003: "Failed to deserialize the account",
        AccountDidNotSerialize = 3004: "Failed to serialize the account",
        AccountNotEnoughKeys = 3005: "Not enough account keys given to the instruction",
    }
}

/// The Anchor log line for a custom error code, if it is one of ours.
pub fn log_line(code: u32) -> Option<&'static str> {
    EscrowError::from_code(code)
        .map(EscrowError::log_line)
        .or_else(|| AnchorLangError::from_code(code).map(AnchorLangError::log_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_consecutive_from_6000() {
        for (i, e) in EscrowError::ALL.iter().enumerate() {
            assert_eq!(e.code(), 6000 + i as u32);
            assert_eq!(EscrowError::from_code(e.code()), Some(*e));
        }
    }

    #[test]
    fn log_lines_match_anchors_format() {
        assert_eq!(
            EscrowError::PeriodNotIncreasing.log_line(),
            "AnchorError occurred. Error Code: PeriodNotIncreasing. Error Number: 6016. \
             Error Message: The period is not after the last settled period."
        );
        assert_eq!(log_line(102), Some(AnchorLangError::InstructionDidNotDeserialize.log_line()));
        assert_eq!(log_line(7), None);
    }

    /// The IDL is hand-written; this keeps its error list identical to the program's.
    #[test]
    fn idl_lists_every_error_with_its_code_and_message() {
        let idl: serde_json::Value =
            serde_json::from_str(include_str!("../idl/lease_escrow.json")).expect("IDL is JSON");
        let listed = idl["errors"].as_array().expect("IDL has errors");
        assert_eq!(listed.len(), EscrowError::ALL.len());
        for (entry, e) in listed.iter().zip(EscrowError::ALL) {
            assert_eq!(entry["code"], e.code());
            assert_eq!(entry["name"], e.name());
            assert_eq!(entry["msg"], e.message());
        }
    }
}
