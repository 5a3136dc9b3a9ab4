//! `reclaim()`: the customer alone takes back what is left once the lease's end plus its grace has passed and
//! nobody closed it, so a customer never needs the engine to get its money back. The vault's rent, which the
//! settlement authority paid at open, goes to the customer here: the engine's cost for not closing in time.
//!
//! Accounts: 0 `customer` [signer, writable: gets the vault's rent back], 1 `lease` [writable], 2 `vault`
//! [writable], 3 `customer_token` [writable], 4 `token_program`.

use pinocchio::{
    sysvars::{clock::Clock, Sysvar},
    AccountView, Address, ProgramResult,
};

use crate::codec::Reader;
use crate::economics::{reclaimable_at, refund};
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::instructions::cpi::Vault;
use crate::state::LeaseStatus;
use crate::validate;

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [customer, lease, vault, customer_token, token_program, ..] = accounts else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    Reader::new(data, AnchorLangError::InstructionDidNotDeserialize).finish()?;

    // validate
    let mut state = validate::lease(program_id, lease)?;
    validate::signer_is(customer, &state.customer, EscrowError::NotCustomer)?;
    validate::writable(&[customer, lease, vault, customer_token])?;
    if state.status != LeaseStatus::Open {
        return Err(EscrowError::LeaseNotOpen.into());
    }
    let now = Clock::get()?.unix_timestamp;
    if now < reclaimable_at(state.start_time, state.duration_seconds, state.reclaim_grace_seconds) {
        return Err(EscrowError::LeaseNotExpired.into());
    }
    validate::vault_of(&state, vault)?;
    validate::token_program(token_program)?;
    let vault_balance = validate::token_account_of(vault, &state.mint)?.amount;
    validate::token_account_of(customer_token, &state.mint)?;
    let r = refund(state.deposited, state.spent()?, vault_balance)?;

    let from = Vault { lease: &state, lease_account: lease, vault };
    from.pay(customer_token, r.amount)?;
    from.close(customer)?;
    state.deposited = r.deposited;
    state.refunded = state.refunded.checked_add(r.amount).ok_or(EscrowError::ArithmeticOverflow)?;
    state.status = LeaseStatus::Reclaimed;
    state.store(&mut lease.try_borrow_mut()?)?;
    Ok(events::lease_reclaimed(lease.address(), &state, r.amount)?)
}
