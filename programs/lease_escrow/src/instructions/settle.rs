//! `settle(period, receipts_digest, amounts)`: the settlement authority pays one period of a lease, every
//! provider in one transaction. The period must be after the last one settled, so a replayed settlement fails
//! and changes nothing.
//!
//! Accounts: 0 `settlement_authority` [signer], 1 `config`, 2 `lease` [writable], 3 `vault` [writable],
//! 4 `mint` [writable: burns], 5 `treasury` [writable], 6 `token_program`, then one provider token account
//! [writable] per amount.

use pinocchio::{AccountView, Address, ProgramResult};

use crate::error::AnchorLangError;
use crate::instructions::settlement::{self, SettleArgs, SettlementAccounts};

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, lease, vault, mint, treasury, token_program, payees @ ..] = accounts else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = SettleArgs::parse(data)?;
    let a = SettlementAccounts { authority, config, lease, vault, mint, treasury, token_program, payees };
    let s = settlement::validate(program_id, &a, &args)?;
    settlement::pay(&a, &s)?;
    s.lease.store(&mut lease.try_borrow_mut()?)?;
    Ok(())
}
