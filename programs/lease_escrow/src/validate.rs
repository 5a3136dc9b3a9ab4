//! The checks that Anchor's account constraints would generate (`Signer`, `has_one`, `seeds`, `token::mint`,
//! `Program<Token>`), each with its own named error, called by every instruction's validate step before it moves
//! anything.

use pinocchio::{error::ProgramError, AccountView, Address};
use pinocchio_token::state::{Account as TokenAccount, Mint};

use crate::error::EscrowError;
use crate::program_data;
use crate::state::{Allowance, Config, Lease};

/// `account` must be `expected` (else `wrong`) and must have signed.
pub fn signer_is(account: &AccountView, expected: &Address, wrong: EscrowError) -> Result<(), EscrowError> {
    if account.address() != expected {
        return Err(wrong);
    }
    signed(account)
}

pub fn signed(account: &AccountView) -> Result<(), EscrowError> {
    if account.is_signer() {
        Ok(())
    } else {
        Err(EscrowError::MissingSignature)
    }
}

/// Every account the instruction declares writable is writable, as Anchor's `mut` constraint checks, so that the
/// IDL's flags hold whether or not this call happens to change the account.
pub fn writable(accounts: &[&AccountView]) -> Result<(), EscrowError> {
    if accounts.iter().all(|a| a.is_writable()) {
        Ok(())
    } else {
        Err(EscrowError::NotWritable)
    }
}

/// Only `initialize_config` writes a Config, and only at the config PDA, so an account owned by this program
/// with the Config discriminator is the config.
pub fn config(program_id: &Address, account: &AccountView) -> Result<Config, ProgramError> {
    if !account.owned_by(program_id) {
        return Err(EscrowError::InvalidConfig.into());
    }
    Ok(Config::load(&account.try_borrow()?)?)
}

/// Only `open_lease` writes a Lease, at the PDA of its lease id, so ownership and discriminator prove it genuine;
/// a look-alike owned by another program is refused.
pub fn lease(program_id: &Address, account: &AccountView) -> Result<Lease, ProgramError> {
    if !account.owned_by(program_id) {
        return Err(EscrowError::InvalidLease.into());
    }
    Ok(Lease::load(&account.try_borrow()?)?)
}

pub fn open_lease(program_id: &Address, account: &AccountView) -> Result<Lease, ProgramError> {
    let lease = lease(program_id, account)?;
    if lease.status != crate::state::LeaseStatus::Open {
        return Err(EscrowError::LeaseNotOpen.into());
    }
    Ok(lease)
}

pub fn vault_of(lease: &Lease, vault: &AccountView) -> Result<(), EscrowError> {
    if vault.address() != &lease.vault {
        return Err(EscrowError::InvalidVault);
    }
    Ok(())
}

pub fn token_program(account: &AccountView) -> Result<(), EscrowError> {
    if account.address() != &pinocchio_token::ID {
        return Err(EscrowError::InvalidProgram);
    }
    Ok(())
}

pub fn system_program(account: &AccountView) -> Result<(), EscrowError> {
    if account.address() != &pinocchio_system::ID {
        return Err(EscrowError::InvalidProgram);
    }
    Ok(())
}

/// `program_data` is this program's ProgramData account (owned by the upgradeable loader, at its PDA
/// `[program_id]`: only the loader can create an account there) and names `signer` as the upgrade authority.
pub fn upgrade_authority(
    program_id: &Address,
    program_data: &AccountView,
    signer: &AccountView,
) -> Result<(), ProgramError> {
    if !program_data.owned_by(&program_data::LOADER_ID) {
        return Err(EscrowError::InvalidProgramData.into());
    }
    let (expected, _) = find_pda([program_id.as_ref()], &program_data::LOADER_ID);
    if program_data.address() != &expected {
        return Err(EscrowError::InvalidProgramData.into());
    }
    match program_data::upgrade_authority(&program_data.try_borrow()?)? {
        Some(authority) if &authority == signer.address() => Ok(()),
        Some(_) => Err(EscrowError::NotUpgradeAuthority.into()),
        None => Err(EscrowError::ProgramImmutable.into()),
    }
}

/// The fields of an SPL Token account this program cares about.
pub struct TokenAccountFacts {
    pub owner: Address,
    pub amount: u64,
}

/// An initialized SPL Token account of `mint`.
pub fn token_account_of(account: &AccountView, mint: &Address) -> Result<TokenAccountFacts, ProgramError> {
    let token = TokenAccount::from_account_view(account).map_err(|_| EscrowError::InvalidTokenAccount)?;
    if !token.is_initialized() {
        return Err(EscrowError::InvalidTokenAccount.into());
    }
    if token.mint() != mint {
        return Err(EscrowError::MintMismatch.into());
    }
    Ok(TokenAccountFacts { owner: *token.owner(), amount: token.amount() })
}

/// A token account of `mint` owned by `customer`: the only kind the allowance draws from and refunds go to.
pub fn customer_token(account: &AccountView, mint: &Address, customer: &Address) -> Result<(), ProgramError> {
    if &token_account_of(account, mint)?.owner != customer {
        return Err(EscrowError::NotCustomerTokenAccount.into());
    }
    Ok(())
}

/// `account` is the allowance PDA of `customer`; its bump, for signing.
pub fn allowance(program_id: &Address, account: &AccountView, customer: &Address) -> Result<u8, EscrowError> {
    let (expected, bump) = find_pda([Allowance::SEED, customer.as_ref()], program_id);
    if account.address() != &expected {
        return Err(EscrowError::InvalidAllowance);
    }
    Ok(bump)
}

/// `account` is the initialized SPL Token mint `expected`.
pub fn mint_is(account: &AccountView, expected: &Address) -> Result<(), ProgramError> {
    if account.address() != expected {
        return Err(EscrowError::MintMismatch.into());
    }
    mint(account)
}

pub fn mint(account: &AccountView) -> Result<(), ProgramError> {
    let mint = Mint::from_account_view(account).map_err(|_| EscrowError::InvalidMint)?;
    if !mint.is_initialized() {
        return Err(EscrowError::InvalidMint.into());
    }
    Ok(())
}

/// The canonical PDA and bump, found on-chain so that no caller can pick a second, non-canonical address for
/// the same seeds. The seeds come by value: `&[CONST]` would be promoted to a static holding a pointer, and
/// sbpf-linker does not relocate pointers inside read-only data (see lib.rs).
#[cfg(any(target_os = "solana", target_arch = "bpf"))]
pub fn find_pda<const N: usize>(seeds: [&[u8]; N], program_id: &Address) -> (Address, u8) {
    Address::find_program_address(&seeds, program_id)
}

#[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
pub fn find_pda<const N: usize>(_seeds: [&[u8]; N], _program_id: &Address) -> (Address, u8) {
    unreachable!("PDAs are derived on-chain; host builds only run the pure modules' tests")
}
