//! `initialize_config(settlement_authority, fee_bps, burn_bps, reclaim_grace_seconds)`: creates the program's
//! settings at the PDA `["config"]`; the signer, which must be the program's upgrade authority (program_data.rs
//! says why), becomes the admin. The reclaim grace is at least `MIN_RECLAIM_GRACE_SECONDS` (economics.rs says
//! why), here and in `update_config`.
//!
//! Accounts: 0 `admin` [signer, writable: pays the rent], 1 `config` [writable], 2 `mint`, 3 `treasury`,
//! 4 `system_program`, 5 `program_data` (this program's ProgramData under the upgradeable loader).

use pinocchio::{cpi::Seed, error::ProgramError, AccountView, Address, ProgramResult};

use crate::codec::Reader;
use crate::economics::{valid_bps, valid_grace};
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::instructions::cpi::NewPdaAccount;
use crate::state::Config;
use crate::validate;

struct Args {
    settlement_authority: Address,
    fee_bps: u16,
    burn_bps: u16,
    reclaim_grace_seconds: u64,
}

impl Args {
    fn parse(data: &[u8]) -> Result<Self, AnchorLangError> {
        let mut r = Reader::new(data, AnchorLangError::InstructionDidNotDeserialize);
        let args = Self {
            settlement_authority: Address::new_from_array(r.array()?),
            fee_bps: r.u16()?,
            burn_bps: r.u16()?,
            reclaim_grace_seconds: r.u64()?,
        };
        r.finish()?;
        Ok(args)
    }
}

pub fn process(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let [admin, config, mint, treasury, system_program, program_data, ..] = accounts else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = Args::parse(data)?;
    // First of all: only the deployer may configure the program (program_data.rs says why).
    validate::signed(admin)?;
    validate::upgrade_authority(program_id, program_data, admin)?;
    let bump = validate_accounts(program_id, admin, config, mint, treasury, system_program, &args)?;

    let bump_seed = [bump];
    let seeds = [Seed::from(Config::SEED), Seed::from(&bump_seed)];
    NewPdaAccount { payer: admin, account: config, space: Config::LEN, owner: program_id }.create(&seeds)?;
    let state = Config {
        admin: *admin.address(),
        settlement_authority: args.settlement_authority,
        mint: *mint.address(),
        treasury: *treasury.address(),
        fee_bps: args.fee_bps,
        burn_bps: args.burn_bps,
        reclaim_grace_seconds: args.reclaim_grace_seconds,
        bump,
    };
    state.store(&mut config.try_borrow_mut()?)?;
    Ok(events::config_initialized(config.address(), &state)?)
}

fn validate_accounts(
    program_id: &Address,
    admin: &AccountView,
    config: &AccountView,
    mint: &AccountView,
    treasury: &AccountView,
    system_program: &AccountView,
    args: &Args,
) -> Result<u8, ProgramError> {
    validate::writable(&[admin, config])?;
    validate::system_program(system_program)?;
    let (expected, bump) = validate::find_pda([Config::SEED], program_id);
    if config.address() != &expected {
        return Err(EscrowError::InvalidConfig.into());
    }
    if config.owned_by(program_id) {
        return Err(EscrowError::AlreadyInitialized.into());
    }
    validate::mint(mint)?;
    validate::token_account_of(treasury, mint.address())?;
    if !valid_bps(args.fee_bps, args.burn_bps) {
        return Err(EscrowError::InvalidBps.into());
    }
    if !valid_grace(args.reclaim_grace_seconds) {
        return Err(EscrowError::GraceTooShort.into());
    }
    Ok(bump)
}
