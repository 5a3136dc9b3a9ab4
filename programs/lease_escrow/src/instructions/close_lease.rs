//! `close_lease(period, receipts_digest, amounts)`: the settlement authority settles the last (partial) period,
//! refunds everything left to the customer's token account, closes the vault and marks the lease closed. The
//! Lease account stays, so anyone can check its books afterwards.
//!
//! Accounts: 0 `settlement_authority` [signer], 1 `config`, 2 `lease` [writable], 3 `vault` [writable],
//! 4 `mint` [writable], 5 `treasury` [writable], 6 `customer_token` [writable], 7 `customer` [writable: gets the
//! vault's rent back], 8 `token_program`, then one provider token account [writable] per amount.

use pinocchio::{error::ProgramError, AccountView, Address, ProgramResult};
use pinocchio_token::state::Account as TokenAccount;

use crate::economics::refund;
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::instructions::cpi::Vault;
use crate::instructions::settlement::{self, SettleArgs, SettlementAccounts};
use crate::state::{Lease, LeaseStatus};
use crate::validate;

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, lease, vault, mint, treasury, customer_token, customer, token_program, payees @ ..] =
        accounts
    else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = SettleArgs::parse(data)?;
    let a = SettlementAccounts { authority, config, lease, vault, mint, treasury, token_program, payees };
    let s = settlement::validate(program_id, &a, &args)?;
    validate_refund_accounts(&s.lease, customer_token, customer)?;

    settlement::pay(&a, &s)?;
    let mut state = s.lease;
    let vault_balance = TokenAccount::from_account_view(vault)?.amount();
    let r = refund(state.deposited, state.spent()?, vault_balance)?;
    let from = Vault { lease: &state, lease_account: lease, vault };
    from.pay(customer_token, r.amount)?;
    from.close(customer)?;
    state.deposited = r.deposited;
    state.refunded = state.refunded.checked_add(r.amount).ok_or(EscrowError::ArithmeticOverflow)?;
    state.status = LeaseStatus::Closed;
    state.store(&mut lease.try_borrow_mut()?)?;
    Ok(events::lease_closed(lease.address(), &state, r.amount)?)
}

/// The refund goes to a token account the customer owns, and the vault's rent to the customer itself: the
/// settlement authority cannot send either anywhere else.
fn validate_refund_accounts(
    lease: &Lease,
    customer_token: &AccountView,
    customer: &AccountView,
) -> Result<(), ProgramError> {
    validate::writable(&[customer_token, customer])?;
    let facts = validate::token_account_of(customer_token, &lease.mint)?;
    if facts.owner != lease.customer {
        return Err(EscrowError::NotCustomerTokenAccount.into());
    }
    if customer.address() != &lease.customer {
        return Err(EscrowError::NotCustomer.into());
    }
    Ok(())
}
