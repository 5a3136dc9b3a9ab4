//! The lease's money, as small pure functions with no account in sight (after nosana-jobs: deposit, pay, refund).
//!
//! Every amount is in the mint's base units. A settlement pays each provider its gross amount less the fee; the
//! fee is `floor(gross × fee_bps / 10000)`, of which `floor(fee × burn_bps / 10000)` is burned and the rest goes to
//! the treasury. All of it is exact integer arithmetic, so nothing is lost or invented:
//! `to_provider + to_treasury + to_burn = gross` exactly.
//!
//! Only u64 arithmetic: LLVM's BPF backend has no 128-bit multiply or divide (`__multi3`, `__udivti3`), and a
//! u64 multiply that checks for overflow lowers to one of them.

use crate::error::EscrowError;

pub const BPS_DENOMINATOR: u64 = 10_000;

/// One settlement transaction pays at most this many providers (DESIGN §6: up to 16; 16 fits in a transaction).
pub const MAX_PAYOUTS: usize = 16;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeSplit {
    pub to_provider: u64,
    pub to_treasury: u64,
    pub to_burn: u64,
}

pub fn valid_bps(fee_bps: u16, burn_bps: u16) -> bool {
    u64::from(fee_bps) <= BPS_DENOMINATOR && u64::from(burn_bps) <= BPS_DENOMINATOR
}

/// `floor(amount × bps / 10000)` for `bps ≤ 10000`, without the 80-bit product: with
/// `amount = q × 10000 + r`, it is `q × bps + floor(r × bps / 10000)`, where `q × bps ≤ amount` and
/// `r × bps < 10^8`, so neither overflows.
fn bps_of(amount: u64, bps: u16) -> u64 {
    let bps = u64::from(bps);
    let denominator = opaque_denominator();
    let (q, r) = (amount / denominator, amount % denominator);
    q * bps + r * bps / denominator
}

/// 10000, hidden from the optimiser: LLVM turns a division by a constant into a multiply by its reciprocal
/// that needs the high half of a 128-bit product (`__multi3`), which BPF cannot do; a division by a value it
/// cannot see is one native `div`.
#[inline(always)]
fn opaque_denominator() -> u64 {
    // SAFETY: a read of a valid, aligned static.
    unsafe { core::ptr::read_volatile(&BPS_DENOMINATOR) }
}

pub fn fee_split(gross: u64, fee_bps: u16, burn_bps: u16) -> Result<FeeSplit, EscrowError> {
    if !valid_bps(fee_bps, burn_bps) {
        return Err(EscrowError::InvalidBps);
    }
    let fee = bps_of(gross, fee_bps);
    let to_burn = bps_of(fee, burn_bps);
    Ok(FeeSplit { to_provider: gross - fee, to_treasury: fee - to_burn, to_burn })
}

/// Whether `spent ≤ rate_per_second × elapsed_seconds`, decided without forming the product: for
/// `elapsed > 0` it holds exactly when `ceil(spent / elapsed) ≤ rate`. (A multiply checked for overflow, however
/// it is written, becomes a 128-bit multiply that BPF cannot do.)
pub fn within_rate(spent: u64, rate_per_second: u64, elapsed_seconds: u64) -> bool {
    if spent == 0 {
        return true;
    }
    if elapsed_seconds == 0 {
        return false;
    }
    let whole = spent / elapsed_seconds;
    let ceil = whole + u64::from(!spent.is_multiple_of(elapsed_seconds));
    ceil <= rate_per_second
}

/// Seconds since the lease started; a clock that reads before the start counts as no time at all.
pub fn elapsed_seconds(start_time: i64, now: i64) -> u64 {
    if now <= start_time {
        0
    } else {
        now.abs_diff(start_time)
    }
}

/// The seconds a settlement may pay for: since the start, but never past the end (`start + duration`). A
/// settlement made after the end pays for the lease's time, not for the wait, so the rest of the deposit is
/// the customer's whenever it is closed.
pub fn payable_seconds(start_time: i64, duration_seconds: u64, now: i64) -> u64 {
    let elapsed = elapsed_seconds(start_time, now);
    if elapsed < duration_seconds {
        elapsed
    } else {
        duration_seconds
    }
}

/// The shortest reclaim grace a Config may hold. A customer may take its deposit back alone from
/// `start + duration + grace`, so the grace must outlast everything that can stand between the lease's
/// end on-chain and the engine's close that pays the last period: the engine's own end trails the chain's by
/// the bring-up (its clock starts when the containers run, after the open), its last period lasts up to a
/// settlement period (at most an hour, the bound of SETTLEMENT_PERIOD_SECONDS), and the close itself may
/// take several blockhash lifetimes, activity retries and a control worker's restart. One hour for the first
/// two and one for the close: a constant rather than a Config value derived from the period, because the
/// program cannot see the engine's settings, and a floor the admin cannot lower is the point.
pub const MIN_RECLAIM_GRACE_SECONDS: u64 = 7_200;

pub fn valid_grace(reclaim_grace_seconds: u64) -> bool {
    reclaim_grace_seconds >= MIN_RECLAIM_GRACE_SECONDS
}

/// When the customer may take the rest back alone. Saturates: a far-off date is as good as never.
pub fn reclaimable_at(start_time: i64, duration_seconds: u64, grace_seconds: u64) -> i64 {
    let wait = i64::try_from(duration_seconds.saturating_add(grace_seconds)).unwrap_or(i64::MAX);
    start_time.saturating_add(wait)
}

/// A deposit may buy at most the max rate for the seconds it adds (`open_lease`: the lease's duration;
/// `top_up`: its extension), so an allowance is never drawn faster than the lease can spend it.
pub fn check_deposit_terms(amount: u64, rate_per_second: u64, seconds: u64) -> Result<(), EscrowError> {
    if within_rate(amount, rate_per_second, seconds) {
        Ok(())
    } else {
        Err(EscrowError::DepositBeyondTerms)
    }
}

/// A lease's end (`start + duration`, exact) may reach at most `window` seconds past `now`: each top-up buys
/// the next seconds of a rolling lease, never a block far ahead. The limit saturates, since a limit past the
/// clock's range bounds nothing; the end overflowing is an error, not a wrap.
pub fn check_window(start_time: i64, duration_seconds: u64, now: i64, window_seconds: u64) -> Result<(), EscrowError> {
    let duration = i64::try_from(duration_seconds).map_err(|_| EscrowError::ArithmeticOverflow)?;
    let end = start_time.checked_add(duration).ok_or(EscrowError::ArithmeticOverflow)?;
    let limit = now.saturating_add(i64::try_from(window_seconds).unwrap_or(i64::MAX));
    if end <= limit {
        Ok(())
    } else {
        Err(EscrowError::BeyondWindow)
    }
}

/// What a lease has spent: paid to providers plus fees plus burned.
pub fn spent(paid_to_providers: u64, fees: u64, burned: u64) -> Result<u64, EscrowError> {
    paid_to_providers.checked_add(fees).and_then(|s| s.checked_add(burned)).ok_or(EscrowError::ArithmeticOverflow)
}

/// The cumulative-spend rule of DESIGN §4: never more than the deposit; never more than the max rate for the
/// whole lease, `rate × duration` (`LeaseEndExceeded`: no waiting makes it payable); and never faster than the
/// max rate, `rate × payable_seconds` (`RateExceeded`: it may be payable later, until the end).
pub fn check_settlement(
    spent_after: u64,
    deposited: u64,
    rate_per_second: u64,
    payable_seconds: u64,
    duration_seconds: u64,
) -> Result<(), EscrowError> {
    if spent_after > deposited {
        return Err(EscrowError::DepositExceeded);
    }
    if !within_rate(spent_after, rate_per_second, duration_seconds) {
        return Err(EscrowError::LeaseEndExceeded);
    }
    if !within_rate(spent_after, rate_per_second, payable_seconds) {
        return Err(EscrowError::RateExceeded);
    }
    Ok(())
}

/// The sums of one settlement, built payout by payout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettlementTotals {
    pub gross: u64,
    pub to_providers: u64,
    pub to_treasury: u64,
    pub to_burn: u64,
}

impl SettlementTotals {
    pub fn add(&mut self, gross: u64, fee_bps: u16, burn_bps: u16) -> Result<FeeSplit, EscrowError> {
        let split = fee_split(gross, fee_bps, burn_bps)?;
        let add = |a: u64, b: u64| a.checked_add(b).ok_or(EscrowError::ArithmeticOverflow);
        self.gross = add(self.gross, gross)?;
        self.to_providers = add(self.to_providers, split.to_provider)?;
        self.to_treasury = add(self.to_treasury, split.to_treasury)?;
        self.to_burn = add(self.to_burn, split.to_burn)?;
        Ok(split)
    }
}

/// What the customer gets back when the lease ends, and the deposit to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refund {
    pub amount: u64,
    /// The deposit, counting tokens sent straight to the vault (not through `top_up`) as deposited, so that the
    /// books still balance: `paid + fees + burned + refunded = deposited`.
    pub deposited: u64,
}

pub fn refund(deposited: u64, spent: u64, vault_balance: u64) -> Result<Refund, EscrowError> {
    let unspent = deposited.checked_sub(spent).ok_or(EscrowError::ArithmeticOverflow)?;
    if vault_balance < unspent {
        return Err(EscrowError::VaultBalanceMismatch);
    }
    let deposited = spent.checked_add(vault_balance).ok_or(EscrowError::ArithmeticOverflow)?;
    Ok(Refund { amount: vault_balance, deposited })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_split_is_exact_and_floors() {
        // 2.5% fee of 1_000_001 = 25_000.025 → 25_000; 40% of that is burned.
        let s = fee_split(1_000_001, 250, 4_000).unwrap();
        assert_eq!(s, FeeSplit { to_provider: 975_001, to_treasury: 15_000, to_burn: 10_000 });
        for gross in [0, 1, 7, 399, 10_000, 123_456_789, u64::MAX] {
            for (fee, burn) in [(0, 0), (1, 1), (250, 5_000), (9_999, 3), (10_000, 10_000)] {
                let s = fee_split(gross, fee, burn).unwrap();
                assert_eq!(
                    u128::from(s.to_provider) + u128::from(s.to_treasury) + u128::from(s.to_burn),
                    u128::from(gross)
                );
            }
        }
        let small = fee_split(39, 250, 5_000).unwrap();
        assert_eq!(small, FeeSplit { to_provider: 39, to_treasury: 0, to_burn: 0 });
    }

    #[test]
    fn fee_split_refuses_shares_above_the_whole() {
        assert_eq!(fee_split(100, 10_001, 0), Err(EscrowError::InvalidBps));
        assert_eq!(fee_split(100, 0, 10_001), Err(EscrowError::InvalidBps));
        assert!(!valid_bps(u16::MAX, 0));
    }

    /// The reference: the exact product and quotient in u128, which the host has.
    fn exact_bps_of(amount: u64, bps: u16) -> u64 {
        (u128::from(amount) * u128::from(bps) / 10_000) as u64
    }

    #[test]
    fn bps_of_equals_the_exact_quotient() {
        let amounts = [0, 1, 9_999, 10_000, 10_001, 123_456_789_012, u64::MAX - 1, u64::MAX];
        for amount in amounts.into_iter().chain((0..2_000u64).map(|i| i * 7_919 + i * i * 104_729)) {
            for bps in [0, 1, 2, 250, 3_333, 5_000, 9_999, 10_000] {
                assert_eq!(bps_of(amount, bps), exact_bps_of(amount, bps), "{amount} × {bps}");
            }
        }
    }

    #[test]
    fn within_rate_equals_the_exact_comparison() {
        let values =
            [0, 1, 2, 3, 59, 60, 61, 3_600, 1 << 31, 1 << 32, (1 << 32) + 1, u64::MAX / 3, u64::MAX - 1, u64::MAX];
        for spent in values {
            for rate in values {
                for elapsed in values {
                    let exact = u128::from(spent) <= u128::from(rate) * u128::from(elapsed);
                    assert_eq!(within_rate(spent, rate, elapsed), exact, "{spent} ≤ {rate} × {elapsed}");
                }
            }
        }
    }

    #[test]
    fn elapsed_counts_only_forward_time() {
        assert_eq!(elapsed_seconds(100, 160), 60);
        assert_eq!(elapsed_seconds(100, 40), 0);
        assert_eq!(elapsed_seconds(i64::MIN, i64::MAX), u64::MAX);
    }

    #[test]
    fn reclaim_time_saturates() {
        assert_eq!(reclaimable_at(1_000, 3_600, 600), 5_200);
        assert_eq!(reclaimable_at(i64::MAX - 5, 10, 0), i64::MAX);
        assert_eq!(reclaimable_at(0, u64::MAX, u64::MAX), i64::MAX);
        assert_eq!(reclaimable_at(-100, 40, 50), -10);
    }

    #[test]
    fn settlement_stays_under_deposit_and_rate() {
        assert_eq!(check_settlement(600, 1_000, 10, 60, 100), Ok(()));
        assert_eq!(check_settlement(601, 1_000, 10, 60, 100), Err(EscrowError::RateExceeded));
        assert_eq!(check_settlement(1_001, 1_000, 1_000, 60, 100), Err(EscrowError::DepositExceeded));
        assert_eq!(check_settlement(1, 1_000, 10, 0, 100), Err(EscrowError::RateExceeded));
        assert_eq!(check_settlement(0, 0, 0, 0, 0), Ok(()));
    }

    #[test]
    fn payable_time_stops_at_the_lease_end() {
        assert_eq!(payable_seconds(100, 600, 160), 60);
        assert_eq!(payable_seconds(100, 600, 700), 600);
        assert_eq!(payable_seconds(100, 600, 1_000_000), 600);
        assert_eq!(payable_seconds(100, 600, 40), 0);
        assert_eq!(payable_seconds(i64::MIN, u64::MAX, i64::MAX), u64::MAX);
    }

    #[test]
    fn after_the_end_only_the_lease_time_is_payable() {
        // A 600 s lease at 10 per second with a deposit of 10_000, settled long after its end: 6_000 at most.
        let (start, duration, rate, deposit) = (1_000, 600, 10, 10_000);
        let late = payable_seconds(start, duration, start + 5_000);
        assert_eq!(check_settlement(6_000, deposit, rate, late, duration), Ok(()));
        assert_eq!(check_settlement(6_001, deposit, rate, late, duration), Err(EscrowError::LeaseEndExceeded));
        assert_eq!(check_settlement(deposit, deposit, rate, late, duration), Err(EscrowError::LeaseEndExceeded));
        // Before the end, more than the whole lease can ever pay is refused as such, not as "too early".
        let early = payable_seconds(start, duration, start + 60);
        assert_eq!(check_settlement(601, deposit, rate, early, duration), Err(EscrowError::RateExceeded));
        assert_eq!(check_settlement(6_001, deposit, rate, early, duration), Err(EscrowError::LeaseEndExceeded));
    }

    #[test]
    fn a_deposit_buys_at_most_the_rate_for_its_seconds() {
        assert_eq!(check_deposit_terms(6_000, 10, 600), Ok(()));
        assert_eq!(check_deposit_terms(6_001, 10, 600), Err(EscrowError::DepositBeyondTerms));
        assert_eq!(check_deposit_terms(1, 10, 0), Err(EscrowError::DepositBeyondTerms));
        // rate × seconds beyond u64 is no overflow: any u64 deposit fits under it.
        assert_eq!(check_deposit_terms(u64::MAX, u64::MAX, 2), Ok(()));
        assert_eq!(check_deposit_terms(u64::MAX, 1 << 32, 1 << 32), Ok(()));
        assert_eq!(check_deposit_terms(u64::MAX, (1 << 32) - 1, (1 << 32) + 1), Ok(()));
        assert_eq!(check_deposit_terms(u64::MAX, (1 << 32) - 1, 1 << 32), Err(EscrowError::DepositBeyondTerms));
    }

    #[test]
    fn the_end_stays_within_the_window_from_now() {
        // Opened at 1_000 for 300 s, window 900 s: at 1_000 the end may reach 1_900.
        assert_eq!(check_window(1_000, 900, 1_000, 900), Ok(()));
        assert_eq!(check_window(1_000, 901, 1_000, 900), Err(EscrowError::BeyondWindow));
        // A period later the window has moved on by a period.
        assert_eq!(check_window(1_000, 1_200, 1_300, 900), Ok(()));
        assert_eq!(check_window(1_000, 1_201, 1_300, 900), Err(EscrowError::BeyondWindow));
        // A clock before the start allows no more than the window from that clock.
        assert_eq!(check_window(1_000, 900, 900, 900), Err(EscrowError::BeyondWindow));
        assert_eq!(check_window(i64::MAX - 1, 1, 0, u64::MAX), Ok(()));
        assert_eq!(check_window(i64::MAX, 1, i64::MAX, u64::MAX), Err(EscrowError::ArithmeticOverflow));
        assert_eq!(check_window(0, u64::MAX, 0, u64::MAX), Err(EscrowError::ArithmeticOverflow));
    }

    /// The IDL's `constants` are the program's, so a client reads the grace floor and the payout limit there.
    #[test]
    fn idl_constants_are_the_programs() {
        let idl: serde_json::Value =
            serde_json::from_str(include_str!("../idl/lease_escrow.json")).expect("IDL is JSON");
        let constant = |name: &str| -> u64 {
            let entry = idl["constants"].as_array().unwrap().iter().find(|c| c["name"] == name);
            entry.unwrap_or_else(|| panic!("constant {name} is in the IDL"))["value"].as_str().unwrap().parse().unwrap()
        };
        assert_eq!(constant("MAX_PAYOUTS"), MAX_PAYOUTS as u64);
        assert_eq!(constant("BPS_DENOMINATOR"), BPS_DENOMINATOR);
        assert_eq!(constant("MIN_RECLAIM_GRACE_SECONDS"), MIN_RECLAIM_GRACE_SECONDS);
    }

    #[test]
    fn the_grace_has_a_floor() {
        assert!(!valid_grace(0));
        assert!(!valid_grace(60));
        assert!(!valid_grace(MIN_RECLAIM_GRACE_SECONDS - 1));
        assert!(valid_grace(MIN_RECLAIM_GRACE_SECONDS));
        assert!(valid_grace(u64::MAX));
    }

    #[test]
    fn totals_add_up_and_catch_overflow() {
        let mut t = SettlementTotals::default();
        let a = t.add(1_000, 500, 2_000).unwrap();
        let b = t.add(3, 500, 2_000).unwrap();
        assert_eq!(a, FeeSplit { to_provider: 950, to_treasury: 40, to_burn: 10 });
        assert_eq!(b, FeeSplit { to_provider: 3, to_treasury: 0, to_burn: 0 });
        assert_eq!(t, SettlementTotals { gross: 1_003, to_providers: 953, to_treasury: 40, to_burn: 10 });
        assert_eq!(t.add(u64::MAX, 0, 0), Err(EscrowError::ArithmeticOverflow));
        assert_eq!(spent(u64::MAX, 1, 0), Err(EscrowError::ArithmeticOverflow));
    }

    #[test]
    fn refund_returns_the_rest_and_keeps_the_books_balanced() {
        assert_eq!(refund(1_000, 400, 600), Ok(Refund { amount: 600, deposited: 1_000 }));
        // 5 tokens sent straight to the vault are refunded and counted as deposited.
        assert_eq!(refund(1_000, 400, 605), Ok(Refund { amount: 605, deposited: 1_005 }));
        assert_eq!(refund(1_000, 400, 599), Err(EscrowError::VaultBalanceMismatch));
        assert_eq!(refund(1_000, 1_001, 0), Err(EscrowError::ArithmeticOverflow));
    }
}
