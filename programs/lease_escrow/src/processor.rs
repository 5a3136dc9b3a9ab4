//! Dispatch on Anchor's 8-byte instruction discriminator, with Anchor's logs: `Instruction: <Name>` on entry and
//! the `AnchorError occurred. ...` line on a named error.

use pinocchio::{error::ProgramError, AccountView, Address, ProgramResult};

use crate::discriminator::instruction as ix;
use crate::error::{self, AnchorLangError};
use crate::instructions::{close_lease, initialize_config, open_lease, reclaim, settle, top_up, update_config};
use crate::log;

pub fn process_instruction(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let result = dispatch(program_id, accounts, data);
    if let Err(ProgramError::Custom(code)) = result {
        if let Some(line) = error::log_line(code) {
            log::message(line);
        }
    }
    result
}

fn dispatch(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let Some((disc, args)) = data.split_first_chunk::<8>() else {
        return Err(AnchorLangError::InstructionMissing.into());
    };
    match *disc {
        ix::INITIALIZE_CONFIG => {
            log::message("Instruction: InitializeConfig");
            initialize_config::process(program_id, accounts, args)
        }
        ix::UPDATE_CONFIG => {
            log::message("Instruction: UpdateConfig");
            update_config::process(program_id, accounts, args)
        }
        ix::OPEN_LEASE => {
            log::message("Instruction: OpenLease");
            open_lease::process(program_id, accounts, args)
        }
        ix::TOP_UP => {
            log::message("Instruction: TopUp");
            top_up::process(program_id, accounts, args)
        }
        ix::SETTLE => {
            log::message("Instruction: Settle");
            settle::process(program_id, accounts, args)
        }
        ix::CLOSE_LEASE => {
            log::message("Instruction: CloseLease");
            close_lease::process(program_id, accounts, args)
        }
        ix::RECLAIM => {
            log::message("Instruction: Reclaim");
            reclaim::process(program_id, accounts, args)
        }
        _ => Err(AnchorLangError::InstructionFallbackNotFound.into()),
    }
}
