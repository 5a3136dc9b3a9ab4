//! `close_lease(period, receipts_digest, amounts)`: the settlement authority settles the last (partial) period,
//! refunds everything left to the customer's token account, closes the vault and marks the lease closed. The
//! vault's rent goes back to the settlement authority, who paid it at open. The Lease account stays, so anyone
//! can check its books afterwards.
//!
//! Accounts: 0 `settlement_authority` [signer, writable: gets the vault's rent back], 1 `config`, 2 `lease`
//! [writable], 3 `vault` [writable], 4 `mint` [writable], 5 `treasury` [writable], 6 `customer_token` [writable],
//! 7 `customer`, 8 `token_program`, then one provider token account [writable] per amount.

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
    validate::writable(&[authority])?;
    validate_refund_accounts(&s.lease, customer_token, customer)?;

    settlement::pay(&a, &s)?;
    let mut state = s.lease;
    let vault_balance = TokenAccount::from_account_view(vault)?.amount();
    let r = refund(state.deposited, state.spent()?, vault_balance)?;
    let from = Vault { lease: &state, lease_account: lease, vault };
    from.pay(customer_token, r.amount)?;
    from.close(authority)?;
    state.deposited = r.deposited;
    state.refunded = state.refunded.checked_add(r.amount).ok_or(EscrowError::ArithmeticOverflow)?;
    state.status = LeaseStatus::Closed;
    state.store(&mut lease.try_borrow_mut()?)?;
    Ok(events::lease_closed(lease.address(), &state, r.amount)?)
}

/// The refund goes to a token account the customer owns: the settlement authority cannot send it anywhere else.
/// `customer` must still name the lease's customer (`NotCustomer`): the account list is unchanged, though the
/// vault's rent now goes back to the settlement authority.
fn validate_refund_accounts(
    lease: &Lease,
    customer_token: &AccountView,
    customer: &AccountView,
) -> Result<(), ProgramError> {
    validate::writable(&[customer_token])?;
    validate::customer_token(customer_token, &lease.mint, &lease.customer)?;
    if customer.address() != &lease.customer {
        return Err(EscrowError::NotCustomer.into());
    }
    Ok(())
}
