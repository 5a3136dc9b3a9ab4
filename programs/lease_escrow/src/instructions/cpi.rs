//! Cross-program calls shared by the instructions: account creation at a PDA and moves out of a lease's vault.

use pinocchio::{
    cpi::{Seed, Signer},
    sysvars::{rent::Rent, Sysvar},
    AccountView, Address, ProgramResult,
};
use pinocchio_system::instructions::{Allocate, Assign, CreateAccount, Transfer as SystemTransfer};
use pinocchio_token::instructions::{Burn, CloseAccount, Transfer};

use crate::state::Lease;

/// A new account at a PDA, owned by `owner`, rent-exempt for `space` bytes, paid by `payer`.
pub struct NewPdaAccount<'a> {
    pub payer: &'a AccountView,
    pub account: &'a AccountView,
    pub space: usize,
    pub owner: &'a Address,
}

impl NewPdaAccount<'_> {
    /// Creates the account, signed by its `seeds`. Someone may have sent lamports to the address first to make
    /// `CreateAccount` fail; then the account is topped up, allocated and assigned instead, as Anchor's `init`
    /// does.
    pub fn create(&self, seeds: &[Seed]) -> ProgramResult {
        let signer = [Signer::from(seeds)];
        let (account, space, owner) = (self.account, self.space as u64, self.owner);
        let rent = Rent::get()?.try_minimum_balance(self.space)?;
        let current = account.lamports();
        if current == 0 {
            return CreateAccount { from: self.payer, to: account, lamports: rent, space, owner }
                .invoke_signed(&signer);
        }
        if current < rent {
            SystemTransfer { from: self.payer, to: account, lamports: rent - current }.invoke()?;
        }
        Allocate { account, space }.invoke_signed(&signer)?;
        Assign { account, owner }.invoke_signed(&signer)
    }
}

/// A lease's vault, moved out of only by the lease PDA's signature.
pub struct Vault<'a> {
    pub lease: &'a Lease,
    pub lease_account: &'a AccountView,
    pub vault: &'a AccountView,
}

impl Vault<'_> {
    fn signed<R>(&self, f: impl FnOnce(&[Signer]) -> R) -> R {
        let bump = [self.lease.bump];
        let seeds = [Seed::from(Lease::SEED), Seed::from(&self.lease.lease_id), Seed::from(&bump)];
        f(&[Signer::from(&seeds)])
    }

    /// Moves `amount` to `to`; a zero amount is no call at all.
    pub fn pay(&self, to: &AccountView, amount: u64) -> ProgramResult {
        if amount == 0 {
            return Ok(());
        }
        self.signed(|signer| Transfer::new(self.vault, to, self.lease_account, amount).invoke_signed(signer))
    }

    pub fn burn(&self, mint: &AccountView, amount: u64) -> ProgramResult {
        if amount == 0 {
            return Ok(());
        }
        self.signed(|signer| Burn::new(self.vault, mint, self.lease_account, amount).invoke_signed(signer))
    }

    /// Closes the empty vault; its rent goes to the customer, who paid it.
    pub fn close(&self, customer: &AccountView) -> ProgramResult {
        self.signed(|signer| CloseAccount::new(self.vault, customer, self.lease_account).invoke_signed(signer))
    }
}
