//! One file per instruction, each in two steps as an Anchor reader expects: `validate` (every check, nothing
//! moved) then the effects (token CPIs, state, event).

pub mod close_lease;
pub mod cpi;
pub mod initialize_config;
pub mod open_lease;
pub mod reclaim;
pub mod settle;
pub mod settlement;
pub mod top_up;
pub mod update_config;
