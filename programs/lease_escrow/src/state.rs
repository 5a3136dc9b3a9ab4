//! Account layouts: Anchor's 8-byte account discriminator, then the fields in borsh, in the order of the IDL's
//! `types`. Both are fixed-size, so the client can filter on fixed offsets (e.g. `Lease.customer` at byte 24).

use pinocchio::Address;

use crate::codec::{Reader, Writer};
use crate::discriminator;
use crate::error::{AnchorLangError, EscrowError};

fn address(r: &mut Reader) -> Result<Address, AnchorLangError> {
    Ok(Address::new_from_array(r.array()?))
}

/// The account has exactly the layout's length and starts with its discriminator.
fn is_layout(data: &[u8], disc: &[u8; 8], len: usize) -> bool {
    data.len() == len && data[..8] == disc[..]
}

fn fields(data: &[u8]) -> Reader<'_> {
    Reader::new(&data[8..], AnchorLangError::AccountDidNotDeserialize)
}

/// The program's singleton settings, at the PDA `["config"]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub admin: Address,
    pub settlement_authority: Address,
    pub mint: Address,
    /// A token account of `mint` that receives the non-burned part of every fee.
    pub treasury: Address,
    /// Fee and burn shares, copied into each lease when it opens (a later change reaches new leases only).
    pub fee_bps: u16,
    pub burn_bps: u16,
    /// Copied into each lease when it opens, so a later change never moves an open lease's reclaim date. At
    /// least `MIN_RECLAIM_GRACE_SECONDS`.
    pub reclaim_grace_seconds: u64,
    pub bump: u8,
}

impl Config {
    pub const SEED: &'static [u8] = b"config";
    pub const LEN: usize = 8 + 32 * 4 + 2 + 2 + 8 + 1;

    pub fn load(data: &[u8]) -> Result<Self, EscrowError> {
        if !is_layout(data, &discriminator::account::CONFIG, Self::LEN) {
            return Err(EscrowError::InvalidConfig);
        }
        Self::read(&mut fields(data)).map_err(|_| EscrowError::InvalidConfig)
    }

    fn read(r: &mut Reader) -> Result<Self, AnchorLangError> {
        Ok(Self {
            admin: address(r)?,
            settlement_authority: address(r)?,
            mint: address(r)?,
            treasury: address(r)?,
            fee_bps: r.u16()?,
            burn_bps: r.u16()?,
            reclaim_grace_seconds: r.u64()?,
            bump: r.u8()?,
        })
    }

    pub fn store(&self, data: &mut [u8]) -> Result<(), AnchorLangError> {
        let mut w = Writer::new(data);
        w.bytes(&discriminator::account::CONFIG)?;
        w.bytes(self.admin.as_ref())?;
        w.bytes(self.settlement_authority.as_ref())?;
        w.bytes(self.mint.as_ref())?;
        w.bytes(self.treasury.as_ref())?;
        w.u16(self.fee_bps)?;
        w.u16(self.burn_bps)?;
        w.u64(self.reclaim_grace_seconds)?;
        w.u8(self.bump)
    }
}

/// A customer's allowance: the PDA `["allowance", customer_wallet]`, which the customer approves as the SPL Token
/// delegate of its own token account (`spl-token approve`). It holds no data; only this program can sign as it,
/// and does so only in `open_lease` and `top_up`, to move that customer's tokens into that customer's lease vault.
pub struct Allowance;

impl Allowance {
    pub const SEED: &'static [u8] = b"allowance";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum LeaseStatus {
    Open = 0,
    Closed = 1,
    Reclaimed = 2,
}

impl LeaseStatus {
    fn from_u8(v: u8) -> Result<Self, AnchorLangError> {
        match v {
            0 => Ok(Self::Open),
            1 => Ok(Self::Closed),
            2 => Ok(Self::Reclaimed),
            _ => Err(AnchorLangError::AccountDidNotDeserialize),
        }
    }
}

/// One lease's escrow, at the PDA `["lease", lease_id]`. Its vault is the token account at the PDA
/// `["vault", lease]` whose owner is this PDA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The engine's lease UUID, 16 bytes.
    pub lease_id: [u8; 16],
    pub customer: Address,
    pub mint: Address,
    pub vault: Address,
    pub max_rate_per_second: u64,
    pub deposited: u64,
    pub paid_to_providers: u64,
    /// Sent to the treasury.
    pub fees: u64,
    pub burned: u64,
    pub refunded: u64,
    pub start_time: i64,
    pub duration_seconds: u64,
    pub reclaim_grace_seconds: u64,
    /// How far past the chain's clock the lease's end may reach when it is topped up (at open, the duration
    /// fits in it): the customer's allowance is drawn for the next seconds of the lease, never far ahead.
    pub window_seconds: u64,
    /// The Config's fee and burn shares when the lease opened: every settlement of this lease splits with
    /// them, so an `update_config` never changes the terms of a lease already open.
    pub fee_bps: u16,
    pub burn_bps: u16,
    /// 0 until the first settlement; periods are numbered from 1 and each settlement's must be greater.
    pub last_period: u64,
    pub last_settled_at: i64,
    pub status: LeaseStatus,
    /// Digest of the proof receipts behind the last settlement.
    pub receipts_digest: [u8; 32],
    pub bump: u8,
    pub vault_bump: u8,
}

impl Lease {
    pub const SEED: &'static [u8] = b"lease";
    pub const VAULT_SEED: &'static [u8] = b"vault";
    pub const LEN: usize = 8 + 16 + 32 * 3 + 8 * 12 + 2 + 2 + 1 + 32 + 1 + 1;
    /// Byte offset of `customer`, for `getProgramAccounts` memcmp filters.
    pub const CUSTOMER_OFFSET: usize = 8 + 16;

    pub fn load(data: &[u8]) -> Result<Self, EscrowError> {
        if !is_layout(data, &discriminator::account::LEASE, Self::LEN) {
            return Err(EscrowError::InvalidLease);
        }
        Self::read(&mut fields(data)).map_err(|_| EscrowError::InvalidLease)
    }

    fn read(r: &mut Reader) -> Result<Self, AnchorLangError> {
        Ok(Self {
            lease_id: r.array()?,
            customer: address(r)?,
            mint: address(r)?,
            vault: address(r)?,
            max_rate_per_second: r.u64()?,
            deposited: r.u64()?,
            paid_to_providers: r.u64()?,
            fees: r.u64()?,
            burned: r.u64()?,
            refunded: r.u64()?,
            start_time: r.i64()?,
            duration_seconds: r.u64()?,
            reclaim_grace_seconds: r.u64()?,
            window_seconds: r.u64()?,
            fee_bps: r.u16()?,
            burn_bps: r.u16()?,
            last_period: r.u64()?,
            last_settled_at: r.i64()?,
            status: LeaseStatus::from_u8(r.u8()?)?,
            receipts_digest: r.array()?,
            bump: r.u8()?,
            vault_bump: r.u8()?,
        })
    }

    pub fn store(&self, data: &mut [u8]) -> Result<(), AnchorLangError> {
        let mut w = Writer::new(data);
        w.bytes(&discriminator::account::LEASE)?;
        w.bytes(&self.lease_id)?;
        w.bytes(self.customer.as_ref())?;
        w.bytes(self.mint.as_ref())?;
        w.bytes(self.vault.as_ref())?;
        for v in
            [self.max_rate_per_second, self.deposited, self.paid_to_providers, self.fees, self.burned, self.refunded]
        {
            w.u64(v)?;
        }
        w.i64(self.start_time)?;
        w.u64(self.duration_seconds)?;
        w.u64(self.reclaim_grace_seconds)?;
        w.u64(self.window_seconds)?;
        w.u16(self.fee_bps)?;
        w.u16(self.burn_bps)?;
        w.u64(self.last_period)?;
        w.i64(self.last_settled_at)?;
        w.u8(self.status as u8)?;
        w.bytes(&self.receipts_digest)?;
        w.u8(self.bump)?;
        w.u8(self.vault_bump)
    }

    pub fn spent(&self) -> Result<u64, EscrowError> {
        crate::economics::spent(self.paid_to_providers, self.fees, self.burned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> Lease {
        Lease {
            lease_id: [9; 16],
            customer: Address::new_from_array([1; 32]),
            mint: Address::new_from_array([2; 32]),
            vault: Address::new_from_array([3; 32]),
            max_rate_per_second: 4,
            deposited: 5,
            paid_to_providers: 6,
            fees: 7,
            burned: 8,
            refunded: 9,
            start_time: -10,
            duration_seconds: 11,
            reclaim_grace_seconds: 12,
            window_seconds: 16,
            fee_bps: 250,
            burn_bps: 4_000,
            last_period: 13,
            last_settled_at: 14,
            status: LeaseStatus::Reclaimed,
            receipts_digest: [15; 32],
            bump: 254,
            vault_bump: 253,
        }
    }

    #[test]
    fn lease_round_trips_and_fills_its_length() {
        assert_eq!(Lease::LEN, 255);
        let mut data = [0u8; Lease::LEN];
        lease().store(&mut data).unwrap();
        assert_eq!(Lease::load(&data).unwrap(), lease());
        assert_eq!(data[Lease::CUSTOMER_OFFSET..Lease::CUSTOMER_OFFSET + 32], [1u8; 32]);
        // window_seconds right after reclaim_grace_seconds (the 9th u64 after the three addresses).
        let grace_at = Lease::CUSTOMER_OFFSET + 32 * 3 + 8 * 8;
        assert_eq!(data[grace_at..grace_at + 16], [12u64.to_le_bytes(), 16u64.to_le_bytes()].concat()[..]);
        assert_eq!(data[Lease::LEN - 1], 253);
    }

    #[test]
    fn config_round_trips_and_fills_its_length() {
        let config = Config {
            admin: Address::new_from_array([1; 32]),
            settlement_authority: Address::new_from_array([2; 32]),
            mint: Address::new_from_array([3; 32]),
            treasury: Address::new_from_array([4; 32]),
            fee_bps: 250,
            burn_bps: 5_000,
            reclaim_grace_seconds: 86_400,
            bump: 255,
        };
        let mut data = [0u8; Config::LEN];
        config.store(&mut data).unwrap();
        assert_eq!(Config::load(&data).unwrap(), config);
        assert_eq!(data[Config::LEN - 1], 255);
    }

    #[test]
    fn a_foreign_or_damaged_account_is_refused() {
        let mut data = [0u8; Lease::LEN];
        lease().store(&mut data).unwrap();
        assert_eq!(Config::load(&data[..Config::LEN]), Err(EscrowError::InvalidConfig));
        assert_eq!(Lease::load(&data[..Lease::LEN - 1]), Err(EscrowError::InvalidLease));
        let status_at = Lease::LEN - 35;
        data[status_at] = 3;
        assert_eq!(Lease::load(&data), Err(EscrowError::InvalidLease));
        data[status_at] = 0;
        data[0] ^= 1;
        assert_eq!(Lease::load(&data), Err(EscrowError::InvalidLease));
    }
}
