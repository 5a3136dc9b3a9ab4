//! `update_config(new_admin, settlement_authority, fee_bps, burn_bps, reclaim_grace_seconds)`: the admin replaces
//! every setting but the mint. Open leases keep the fee and burn shares and the reclaim grace they opened with.
//!
//! Accounts: 0 `admin` [signer], 1 `config` [writable], 2 `treasury` (the new treasury, or the current one).

use pinocchio::{AccountView, Address, ProgramResult};

use crate::codec::Reader;
use crate::economics::{valid_bps, valid_grace};
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::validate;

struct Args {
    new_admin: Address,
    settlement_authority: Address,
    fee_bps: u16,
    burn_bps: u16,
    reclaim_grace_seconds: u64,
}

impl Args {
    fn parse(data: &[u8]) -> Result<Self, AnchorLangError> {
        let mut r = Reader::new(data, AnchorLangError::InstructionDidNotDeserialize);
        let args = Self {
            new_admin: Address::new_from_array(r.array()?),
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
    let [admin, config, treasury, ..] = accounts else {
        return Err(AnchorLangError::AccountNotEnoughKeys.into());
    };
    let args = Args::parse(data)?;

    // validate
    let mut state = validate::config(program_id, config)?;
    validate::signer_is(admin, &state.admin, EscrowError::NotAdmin)?;
    validate::writable(&[config])?;
    validate::token_account_of(treasury, &state.mint)?;
    if !valid_bps(args.fee_bps, args.burn_bps) {
        return Err(EscrowError::InvalidBps.into());
    }
    if !valid_grace(args.reclaim_grace_seconds) {
        return Err(EscrowError::GraceTooShort.into());
    }

    state.admin = args.new_admin;
    state.settlement_authority = args.settlement_authority;
    state.treasury = *treasury.address();
    state.fee_bps = args.fee_bps;
    state.burn_bps = args.burn_bps;
    state.reclaim_grace_seconds = args.reclaim_grace_seconds;
    state.store(&mut config.try_borrow_mut()?)?;
    Ok(events::config_updated(config.address(), &state)?)
}
