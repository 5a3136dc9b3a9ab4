//! `open_lease(lease_id, max_rate_per_second, duration_seconds, deposit)`: the customer creates the lease at the
//! PDA `["lease", lease_id]` and its vault at `["vault", lease]`, and moves the deposit into the vault. The
//! settlement authority co-signs: the terms (rate, duration, deposit) are the engine's, so a customer cannot open
//! its lease's escrow first on terms of its own (say, a rate of 1) and run GPUs that can never be paid. The
//! lease takes the Config's fee and burn shares and reclaim grace as they are now, for its whole life.
//!
//! Accounts: 0 `customer` [signer, writable: pays the rents], 1 `settlement_authority` [signer], 2 `config`,
//! 3 `lease` [writable], 4 `vault` [writable], 5 `mint`, 6 `customer_token` [writable], 7 `token_program`,
//! 8 `system_program`.

use pinocchio::{
    cpi::Seed,
    error::ProgramError,
    sysvars::{clock::Clock, Sysvar},
    AccountView, Address, ProgramResult,
};
use pinocchio_token::instructions::{InitializeAccount3, Transfer};

use crate::codec::Reader;
use crate::economics::reclaimable_at;
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::instructions::cpi::NewPdaAccount;
use crate::state::{Config, Lease, LeaseStatus};
use crate::validate;

/// Size of an SPL Token account.
const TOKEN_ACCOUNT_LEN: usize = pinocchio_token::state::Account::LEN;

struct Args {
    lease_id: [u8; 16],
    max_rate_per_second: u64,
    duration_seconds: u64,
    deposit: u64,
}

impl Args {
    fn parse(data: &[u8]) -> Result<Self, AnchorLangError> {
        let mut r = Reader::new(data, AnchorLangError::InstructionDidNotDeserialize);
        let args =
            Self { lease_id: r.array()?, max_rate_per_second: r.u64()?, duration_seconds: r.u64()?, deposit: r.u64()? };
        r.finish()?;
        Ok(args)
    }
}

struct Validated {
    config: Config,
    lease_bump: u8,
    vault_bump: u8,
}

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [customer, authority, config, lease, vault, mint, customer_token, token_program, system_program, ..] = accounts
    else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = Args::parse(data)?;
    let v = validate_accounts(
        program_id,
        &args,
        [customer, authority, config, lease, vault, mint, customer_token, token_program, system_program],
    )?;

    let lease_bump = [v.lease_bump];
    let lease_seeds = [Seed::from(Lease::SEED), Seed::from(&args.lease_id), Seed::from(&lease_bump)];
    NewPdaAccount { payer: customer, account: lease, space: Lease::LEN, owner: program_id }.create(&lease_seeds)?;
    let vault_bump = [v.vault_bump];
    let vault_seeds = [Seed::from(Lease::VAULT_SEED), Seed::from(lease.address().as_ref()), Seed::from(&vault_bump)];
    NewPdaAccount { payer: customer, account: vault, space: TOKEN_ACCOUNT_LEN, owner: &pinocchio_token::ID }
        .create(&vault_seeds)?;
    InitializeAccount3::new(vault, mint, lease.address()).invoke()?;
    Transfer::new(customer_token, vault, customer, args.deposit).invoke()?;

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
    accounts: [&AccountView; 9],
) -> Result<Validated, ProgramError> {
    let [customer, authority, config, lease, vault, mint, customer_token, token_program, system_program] = accounts;
    validate::signed(customer)?;
    validate::writable(&[customer, lease, vault, customer_token])?;
    let config = validate::config(program_id, config)?;
    validate::signer_is(authority, &config.settlement_authority, EscrowError::NotSettlementAuthority)?;
    validate::token_program(token_program)?;
    validate::system_program(system_program)?;
    validate::mint_is(mint, &config.mint)?;
    validate::token_account_of(customer_token, &config.mint)?;
    if args.deposit == 0 {
        return Err(EscrowError::ZeroAmount.into());
    }
    if args.max_rate_per_second == 0 {
        return Err(EscrowError::InvalidRate.into());
    }
    if args.duration_seconds == 0 {
        return Err(EscrowError::InvalidDuration.into());
    }
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
    Ok(Validated { config, lease_bump, vault_bump })
}
