//! Events, one per state change, logged as Anchor's `emit!` does: `sol_log_data` of the event discriminator
//! followed by the borsh fields, in the order of the IDL's event types.

use pinocchio::{AccountView, Address};

use crate::codec::Writer;
use crate::discriminator::event;
use crate::economics::MAX_PAYOUTS;
use crate::error::AnchorLangError;
use crate::instructions::settlement::Settlement;
use crate::log;
use crate::state::{Config, Lease};

/// Large enough for the largest event, `LeaseSettled` with `MAX_PAYOUTS` payouts.
const BUFFER: usize = 8 + 32 + 8 + 32 + 8 + 8 * 4 + 4 + MAX_PAYOUTS * (32 + 8 + 8);

#[inline(never)]
fn emit(disc: &[u8; 8], fill: impl FnOnce(&mut Writer) -> Result<(), AnchorLangError>) -> Result<(), AnchorLangError> {
    let mut buf = [0u8; BUFFER];
    let mut w = Writer::new(&mut buf);
    w.bytes(disc)?;
    fill(&mut w)?;
    let len = w.len();
    log::data(&buf[..len]);
    Ok(())
}

fn config_fields(w: &mut Writer, config_address: &Address, config: &Config) -> Result<(), AnchorLangError> {
    w.bytes(config_address.as_ref())?;
    w.bytes(config.admin.as_ref())?;
    w.bytes(config.settlement_authority.as_ref())?;
    w.bytes(config.mint.as_ref())?;
    w.bytes(config.treasury.as_ref())?;
    w.u16(config.fee_bps)?;
    w.u16(config.burn_bps)?;
    w.u64(config.reclaim_grace_seconds)
}

/// The money fields every closing event carries, so a reader can check the books from the event alone.
fn books(w: &mut Writer, lease: &Lease) -> Result<(), AnchorLangError> {
    w.u64(lease.deposited)?;
    w.u64(lease.paid_to_providers)?;
    w.u64(lease.fees)?;
    w.u64(lease.burned)?;
    w.u64(lease.refunded)
}

pub fn config_initialized(config_address: &Address, config: &Config) -> Result<(), AnchorLangError> {
    emit(&event::CONFIG_INITIALIZED, |w| config_fields(w, config_address, config))
}

pub fn config_updated(config_address: &Address, config: &Config) -> Result<(), AnchorLangError> {
    emit(&event::CONFIG_UPDATED, |w| config_fields(w, config_address, config))
}

pub fn lease_opened(lease_address: &Address, lease: &Lease, reclaimable_at: i64) -> Result<(), AnchorLangError> {
    emit(&event::LEASE_OPENED, |w| {
        w.bytes(lease_address.as_ref())?;
        w.bytes(&lease.lease_id)?;
        w.bytes(lease.customer.as_ref())?;
        w.bytes(lease.mint.as_ref())?;
        w.bytes(lease.vault.as_ref())?;
        w.u64(lease.max_rate_per_second)?;
        w.u64(lease.deposited)?;
        w.u64(lease.duration_seconds)?;
        w.i64(lease.start_time)?;
        w.i64(reclaimable_at)?;
        w.u16(lease.fee_bps)?;
        w.u16(lease.burn_bps)?;
        w.u64(lease.window_seconds)
    })
}

/// `payer` is the customer's wallet: a top-up draws only on the allowance of the lease's own customer.
pub fn lease_topped_up(
    lease_address: &Address,
    payer: &Address,
    amount: u64,
    extend_seconds: u64,
    lease: &Lease,
) -> Result<(), AnchorLangError> {
    emit(&event::LEASE_TOPPED_UP, |w| {
        w.bytes(lease_address.as_ref())?;
        w.bytes(payer.as_ref())?;
        w.u64(amount)?;
        w.u64(extend_seconds)?;
        w.u64(lease.deposited)?;
        w.u64(lease.duration_seconds)
    })
}

/// `payees[i]` was paid `settlement.splits[i]`.
pub fn lease_settled(
    lease_address: &Address,
    settlement: &Settlement,
    payees: &[AccountView],
) -> Result<(), AnchorLangError> {
    let (lease, totals, splits) = (&settlement.lease, &settlement.totals, &settlement.splits[..settlement.count]);
    emit(&event::LEASE_SETTLED, |w| {
        w.bytes(lease_address.as_ref())?;
        w.u64(lease.last_period)?;
        w.bytes(&lease.receipts_digest)?;
        w.i64(lease.last_settled_at)?;
        w.u64(totals.gross)?;
        w.u64(totals.to_providers)?;
        w.u64(totals.to_treasury)?;
        w.u64(totals.to_burn)?;
        w.u32(splits.len() as u32)?;
        for (payee, split) in payees.iter().zip(splits) {
            w.bytes(payee.address().as_ref())?;
            // Cannot overflow: the three parts were split from one u64.
            w.u64(split.to_provider + split.to_treasury + split.to_burn)?;
            w.u64(split.to_provider)?;
        }
        Ok(())
    })
}

pub fn lease_closed(lease_address: &Address, lease: &Lease, refund: u64) -> Result<(), AnchorLangError> {
    emit(&event::LEASE_CLOSED, |w| {
        w.bytes(lease_address.as_ref())?;
        w.u64(lease.last_period)?;
        w.u64(refund)?;
        books(w, lease)
    })
}

pub fn lease_reclaimed(lease_address: &Address, lease: &Lease, refund: u64) -> Result<(), AnchorLangError> {
    emit(&event::LEASE_RECLAIMED, |w| {
        w.bytes(lease_address.as_ref())?;
        w.bytes(lease.customer.as_ref())?;
        w.u64(refund)?;
        books(w, lease)
    })
}
