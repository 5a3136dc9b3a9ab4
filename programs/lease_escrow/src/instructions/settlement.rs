//! What `settle` and `close_lease` share: the settlement arguments, their validation against the lease and the
//! config, and the payouts. Nothing moves until every payout has been checked. Payouts are split with the
//! lease's fee and burn shares and capped at the max rate for the time from its start to its end.

use pinocchio::{
    error::ProgramError,
    sysvars::{clock::Clock, Sysvar},
    AccountView, Address,
};

use crate::codec::{u64_at, Reader};
use crate::economics::{check_settlement, payable_seconds, FeeSplit, SettlementTotals, MAX_PAYOUTS};
use crate::error::{AnchorLangError, EscrowError};
use crate::events;
use crate::instructions::cpi::Vault;
use crate::state::{Config, Lease};
use crate::validate;

/// `period: u64, receipts_digest: [u8; 32], amounts: Vec<u64>`: the gross amount owed to each provider token
/// account in the remaining accounts, in the same order.
pub struct SettleArgs<'a> {
    pub period: u64,
    pub receipts_digest: [u8; 32],
    amounts: &'a [u8],
    pub count: usize,
}

impl<'a> SettleArgs<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::new(data, AnchorLangError::InstructionDidNotDeserialize);
        let period = r.u64()?;
        let receipts_digest = r.array()?;
        let count = r.u32()? as usize;
        if count > MAX_PAYOUTS {
            return Err(EscrowError::TooManyPayouts.into());
        }
        let amounts = r.bytes(count * 8)?;
        r.finish()?;
        Ok(Self { period, receipts_digest, amounts, count })
    }

    pub fn amount(&self, index: usize) -> u64 {
        u64_at(self.amounts, index)
    }
}

/// The accounts every settlement needs, in the order both instructions declare them.
pub struct SettlementAccounts<'a> {
    pub authority: &'a AccountView,
    pub config: &'a AccountView,
    pub lease: &'a AccountView,
    pub vault: &'a AccountView,
    pub mint: &'a AccountView,
    pub treasury: &'a AccountView,
    pub token_program: &'a AccountView,
    pub payees: &'a [AccountView],
}

/// A checked settlement: the lease as it will be once the payouts are made.
pub struct Settlement {
    pub lease: Lease,
    pub totals: SettlementTotals,
    pub splits: [FeeSplit; MAX_PAYOUTS],
    pub count: usize,
}

pub fn validate(program_id: &Address, a: &SettlementAccounts, args: &SettleArgs) -> Result<Settlement, ProgramError> {
    let config: Config = validate::config(program_id, a.config)?;
    validate::signer_is(a.authority, &config.settlement_authority, EscrowError::NotSettlementAuthority)?;
    validate::writable(&[a.lease, a.vault, a.mint, a.treasury])?;
    let mut lease = validate::open_lease(program_id, a.lease)?;
    validate::vault_of(&lease, a.vault)?;
    validate::mint_is(a.mint, &lease.mint)?;
    if a.treasury.address() != &config.treasury {
        return Err(EscrowError::InvalidTreasury.into());
    }
    validate::token_program(a.token_program)?;
    if args.period <= lease.last_period {
        return Err(EscrowError::PeriodNotIncreasing.into());
    }
    if a.payees.len() != args.count {
        return Err(EscrowError::PayoutAccountsMismatch.into());
    }

    let mut totals = SettlementTotals::default();
    let mut splits = [FeeSplit::default(); MAX_PAYOUTS];
    for (i, payee) in a.payees.iter().enumerate() {
        if payee.address() == a.vault.address() {
            return Err(EscrowError::PayeeIsVault.into());
        }
        validate::writable(&[payee])?;
        validate::token_account_of(payee, &lease.mint)?;
        // The lease's own shares, fixed when it opened: a later update_config does not reach it.
        splits[i] = totals.add(args.amount(i), lease.fee_bps, lease.burn_bps)?;
    }

    let now = Clock::get()?.unix_timestamp;
    let spent_after = lease.spent()?.checked_add(totals.gross).ok_or(EscrowError::ArithmeticOverflow)?;
    let payable = payable_seconds(lease.start_time, lease.duration_seconds, now);
    check_settlement(spent_after, lease.deposited, lease.max_rate_per_second, payable, lease.duration_seconds)?;

    // Cannot overflow: each sum is at most `spent_after`, which fit.
    lease.paid_to_providers += totals.to_providers;
    lease.fees += totals.to_treasury;
    lease.burned += totals.to_burn;
    lease.last_period = args.period;
    lease.last_settled_at = now;
    lease.receipts_digest = args.receipts_digest;
    Ok(Settlement { lease, totals, splits, count: args.count })
}

/// Pays every provider its net amount, the treasury its share and burns the rest, then logs `LeaseSettled`.
/// The caller stores the lease.
pub fn pay(a: &SettlementAccounts, s: &Settlement) -> Result<(), ProgramError> {
    let vault = Vault { lease: &s.lease, lease_account: a.lease, vault: a.vault };
    for (payee, split) in a.payees.iter().zip(&s.splits[..s.count]) {
        vault.pay(payee, split.to_provider)?;
    }
    vault.pay(a.treasury, s.totals.to_treasury)?;
    vault.burn(a.mint, s.totals.to_burn)?;
    Ok(events::lease_settled(a.lease.address(), s, a.payees)?)
}
