//! `top_up(amount, extend_seconds)`: the settlement authority buys the next `extend_seconds` of a lease with
//! `amount` drawn from its customer's allowance (usually in the same transaction as the period's settlement,
//! which makes the lease a rolling deposit). Nobody else can top up, and nothing but the allowance of the lease's
//! own customer funds it: the delegate of customer A never pays for customer B's lease. Each top-up buys at most
//! the lease's rate for its seconds (`DepositBeyondTerms`), and the lease's new end reaches at most its window
//! past now (`BeyondWindow`), so the allowance is drawn as the lease runs, never far ahead.
//!
//! Accounts: 0 `settlement_authority` [signer], 1 `config`, 2 `lease` [writable], 3 `vault` [writable],
//! 4 `customer_token` [writable], 5 `allowance`, 6 `token_program`.

use pinocchio::{
    sysvars::{clock::Clock, Sysvar},
    AccountView, Address, ProgramResult,
};

use crate::codec::Reader;
use crate::economics::{check_deposit_terms, check_window};
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::instructions::cpi::AllowanceDraw;
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
    let [authority, config, lease, vault, customer_token, allowance, token_program, ..] = accounts else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = Args::parse(data)?;

    // validate
    let config = validate::config(program_id, config)?;
    validate::signer_is(authority, &config.settlement_authority, EscrowError::NotSettlementAuthority)?;
    validate::writable(&[lease, vault, customer_token])?;
    let mut state = validate::open_lease(program_id, lease)?;
    validate::vault_of(&state, vault)?;
    validate::customer_token(customer_token, &state.mint, &state.customer)?;
    let allowance_bump = validate::allowance(program_id, allowance, &state.customer)?;
    validate::token_program(token_program)?;
    if args.amount == 0 {
        return Err(EscrowError::ZeroAmount.into());
    }
    if args.extend_seconds == 0 {
        return Err(EscrowError::InvalidDuration.into());
    }
    check_deposit_terms(args.amount, state.max_rate_per_second, args.extend_seconds)?;
    state.duration_seconds =
        state.duration_seconds.checked_add(args.extend_seconds).ok_or(EscrowError::ArithmeticOverflow)?;
    check_window(state.start_time, state.duration_seconds, Clock::get()?.unix_timestamp, state.window_seconds)?;
    state.deposited = state.deposited.checked_add(args.amount).ok_or(EscrowError::ArithmeticOverflow)?;

    AllowanceDraw { customer: &state.customer, allowance, bump: allowance_bump }.transfer(
        customer_token,
        vault,
        args.amount,
    )?;
    state.store(&mut lease.try_borrow_mut()?)?;
    Ok(events::lease_topped_up(lease.address(), &state.customer, args.amount, args.extend_seconds, &state)?)
}
