//! `top_up(amount, extend_seconds)`: anyone may add to a lease's deposit, with the settlement authority's
//! co-signature; the tokens land in that lease's vault and in its `deposited`. Only the customer may also push
//! the lease's end (and so its reclaim date) back, or a stranger could lock the customer's money in with a
//! one-token top-up. The authority co-signs, as for `open_lease`, so that a lease's deposit and end on-chain
//! change only as the engine records them.
//!
//! Accounts: 0 `payer` [signer], 1 `settlement_authority` [signer], 2 `config`, 3 `lease` [writable],
//! 4 `vault` [writable], 5 `payer_token` [writable], 6 `token_program`.

use pinocchio::{AccountView, Address, ProgramResult};
use pinocchio_token::instructions::Transfer;

use crate::codec::Reader;
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::validate;

struct Args {
    amount: u64,
    extend_seconds: u64,
}

impl Args {
    fn parse(data: &[u8]) -> Result<Self, AnchorLangError> {
        let mut r = Reader::new(data, AnchorLangError::InstructionDidNotDeserialize);
        let args = Self { amount: r.u64()?, extend_seconds: r.u64()? };
        r.finish()?;
        Ok(args)
    }
}

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [payer, authority, config, lease, vault, payer_token, token_program, ..] = accounts else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = Args::parse(data)?;

    // validate
    validate::signed(payer)?;
    let config = validate::config(program_id, config)?;
    validate::signer_is(authority, &config.settlement_authority, EscrowError::NotSettlementAuthority)?;
    validate::writable(&[lease, vault, payer_token])?;
    let mut state = validate::open_lease(program_id, lease)?;
    validate::vault_of(&state, vault)?;
    validate::token_program(token_program)?;
    validate::token_account_of(payer_token, &state.mint)?;
    if args.amount == 0 {
        return Err(EscrowError::ZeroAmount.into());
    }
    if args.extend_seconds > 0 && payer.address() != &state.customer {
        return Err(EscrowError::NotCustomer.into());
    }
    state.deposited = state.deposited.checked_add(args.amount).ok_or(EscrowError::ArithmeticOverflow)?;
    state.duration_seconds =
        state.duration_seconds.checked_add(args.extend_seconds).ok_or(EscrowError::ArithmeticOverflow)?;

    Transfer::new(payer_token, vault, payer, args.amount).invoke()?;
    state.store(&mut lease.try_borrow_mut()?)?;
    Ok(events::lease_topped_up(lease.address(), payer.address(), args.amount, args.extend_seconds, &state)?)
}
