//! Cross-program calls shared by the instructions: account creation at a PDA, draws on a customer's allowance
//! and moves out of a lease's vault.

use pinocchio::{
    cpi::{Seed, Signer},
    sysvars::{rent::Rent, Sysvar},
    AccountView, Address, ProgramResult,
};
use pinocchio_system::instructions::{Allocate, Assign, CreateAccount, Transfer as SystemTransfer};
use pinocchio_token::instructions::{Burn, CloseAccount, Transfer};

use crate::state::{Allowance, Lease};

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

/// A customer's allowance, exercised by the program's signature as its PDA. The callers have checked that `from`
/// is a token account the customer owns and `to` the vault of one of its leases; the token program checks the
/// delegation itself (approved to this PDA, for at least `amount`, not revoked) and refuses the transfer
/// otherwise.
pub struct AllowanceDraw<'a> {
    pub customer: &'a Address,
    pub allowance: &'a AccountView,
    pub bump: u8,
}

impl AllowanceDraw<'_> {
    pub fn transfer(&self, from: &AccountView, to: &AccountView, amount: u64) -> ProgramResult {
        let bump = [self.bump];
        let seeds = [Seed::from(Allowance::SEED), Seed::from(self.customer.as_ref()), Seed::from(&bump)];
        Transfer::new(from, to, self.allowance, amount).invoke_signed(&[Signer::from(&seeds)])
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

    /// Closes the empty vault; its rent goes to `to` (the settlement authority on close, who paid it at open;
    /// the customer on reclaim).
    pub fn close(&self, to: &AccountView) -> ProgramResult {
        self.signed(|signer| CloseAccount::new(self.vault, to, self.lease_account).invoke_signed(signer))
    }
}
