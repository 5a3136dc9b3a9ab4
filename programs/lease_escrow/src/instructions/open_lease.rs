//! `open_lease(lease_id, max_rate_per_second, duration_seconds, deposit, window_seconds)`: the settlement authority
//! creates the lease at the PDA `["lease", lease_id]` and its vault at `["vault", lease]`, paying both rents, and
//! the program draws the deposit from the customer's allowance into the vault. The customer does not sign: it
//! approved the allowance PDA `["allowance", customer]` as the delegate of its token account beforehand, and
//! revokes it to stop every new deposit. The terms (rate, duration, deposit) are the engine's, so a customer cannot
//! open its lease's escrow first on terms of its own, and they bound the draw: at most the rate for the duration,
//! a duration within the window. The lease takes the Config's fee and burn shares and reclaim grace as they are
//! now, for its whole life.
//!
//! Accounts: 0 `settlement_authority` [signer, writable: pays the rents], 1 `config`, 2 `customer` (the wallet),
//! 3 `allowance`, 4 `lease` [writable], 5 `vault` [writable], 6 `mint`, 7 `customer_token` [writable],
//! 8 `token_program`, 9 `system_program`.

use pinocchio::{
    cpi::Seed,
    error::ProgramError,
    sysvars::{clock::Clock, Sysvar},
    AccountView, Address, ProgramResult,
};
use pinocchio_token::instructions::InitializeAccount3;

use crate::codec::Reader;
use crate::economics::{check_deposit_terms, reclaimable_at};
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::instructions::cpi::{AllowanceDraw, NewPdaAccount};
use crate::state::{Config, Lease, LeaseStatus};
use crate::validate;

/// Size of an SPL Token account.
const TOKEN_ACCOUNT_LEN: usize = pinocchio_token::state::Account::LEN;

struct Args {
    lease_id: [u8; 16],
    max_rate_per_second: u64,
    duration_seconds: u64,
    deposit: u64,
    window_seconds: u64,
}

impl Args {
    fn parse(data: &[u8]) -> Result<Self, AnchorLangError> {
        let mut r = Reader::new(data, AnchorLangError::InstructionDidNotDeserialize);
        let args = Self {
            lease_id: r.array()?,
            max_rate_per_second: r.u64()?,
            duration_seconds: r.u64()?,
            deposit: r.u64()?,
            window_seconds: r.u64()?,
        };
        r.finish()?;
        Ok(args)
    }
}

struct Validated {
    config: Config,
    lease_bump: u8,
    vault_bump: u8,
    allowance_bump: u8,
}

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [authority, config, customer, allowance, lease, vault, mint, customer_token, token_program, system_program, ..] =
        accounts
    else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = Args::parse(data)?;
    let v = validate_accounts(
        program_id,
        &args,
        [authority, config, customer, allowance, lease, vault, mint, customer_token, token_program, system_program],
    )?;

    let lease_bump = [v.lease_bump];
    let lease_seeds = [Seed::from(Lease::SEED), Seed::from(&args.lease_id), Seed::from(&lease_bump)];
    NewPdaAccount { payer: authority, account: lease, space: Lease::LEN, owner: program_id }.create(&lease_seeds)?;
    let vault_bump = [v.vault_bump];
    let vault_seeds = [Seed::from(Lease::VAULT_SEED), Seed::from(lease.address().as_ref()), Seed::from(&vault_bump)];
    NewPdaAccount { payer: authority, account: vault, space: TOKEN_ACCOUNT_LEN, owner: &pinocchio_token::ID }
        .create(&vault_seeds)?;
    InitializeAccount3::new(vault, mint, lease.address()).invoke()?;
    AllowanceDraw { customer: customer.address(), allowance, bump: v.allowance_bump }.transfer(
        customer_token,
        vault,
        args.deposit,
    )?;

    let state = Lease {
        lease_id: args.lease_id,
        customer: *customer.address(),
        mint: v.config.mint,
        vault: *vault.address(),
        max_rate_per_second: args.max_rate_per_second,
        deposited: args.deposit,
        paid_to_providers: 0,
        fees: 0,
        burned: 0,
        refunded: 0,
        start_time: Clock::get()?.unix_timestamp,
        duration_seconds: args.duration_seconds,
        reclaim_grace_seconds: v.config.reclaim_grace_seconds,
        window_seconds: args.window_seconds,
        fee_bps: v.config.fee_bps,
        burn_bps: v.config.burn_bps,
        last_period: 0,
        last_settled_at: 0,
        status: LeaseStatus::Open,
        receipts_digest: [0; 32],
        bump: v.lease_bump,
        vault_bump: v.vault_bump,
    };
    state.store(&mut lease.try_borrow_mut()?)?;
    let reclaim_at = reclaimable_at(state.start_time, state.duration_seconds, state.reclaim_grace_seconds);
    Ok(events::lease_opened(lease.address(), &state, reclaim_at)?)
}

fn validate_accounts(
    program_id: &Address,
    args: &Args,
    accounts: [&AccountView; 10],
) -> Result<Validated, ProgramError> {
    let [authority, config, customer, allowance, lease, vault, mint, customer_token, token_program, system_program] =
        accounts;
    let config = validate::config(program_id, config)?;
    validate::signer_is(authority, &config.settlement_authority, EscrowError::NotSettlementAuthority)?;
    validate::writable(&[authority, lease, vault, customer_token])?;
    let allowance_bump = validate::allowance(program_id, allowance, customer.address())?;
    validate::token_program(token_program)?;
    validate::system_program(system_program)?;
    validate::mint_is(mint, &config.mint)?;
    validate::customer_token(customer_token, &config.mint, customer.address())?;
    if args.deposit == 0 {
        return Err(EscrowError::ZeroAmount.into());
    }
    if args.max_rate_per_second == 0 {
        return Err(EscrowError::InvalidRate.into());
    }
    if args.duration_seconds == 0 {
        return Err(EscrowError::InvalidDuration.into());
    }
    // A zero window fails here too: the duration is positive.
    if args.duration_seconds > args.window_seconds {
        return Err(EscrowError::BeyondWindow.into());
    }
    check_deposit_terms(args.deposit, args.max_rate_per_second, args.duration_seconds)?;
    let (expected_lease, lease_bump) = validate::find_pda([Lease::SEED, &args.lease_id], program_id);
    if lease.address() != &expected_lease {
        return Err(EscrowError::InvalidLeaseAddress.into());
    }
    if lease.owned_by(program_id) {
        return Err(EscrowError::AlreadyInitialized.into());
    }
    let (expected_vault, vault_bump) = validate::find_pda([Lease::VAULT_SEED, lease.address().as_ref()], program_id);
    if vault.address() != &expected_vault {
        return Err(EscrowError::InvalidVault.into());
    }
    Ok(Validated { config, lease_bump, vault_bump, allowance_bump })
}
