//! This program's ProgramData account under the upgradeable BPF loader, which names the program's upgrade
//! authority: the deployer, and so the only key that may initialize the Config. Without that check, anyone could
//! front-run the deployer between `solana program deploy` and `initialize_config`, and own the Config (its admin,
//! its settlement authority, its treasury).

use pinocchio::Address;

use crate::codec::Reader;
use crate::error::{AnchorLangError, EscrowError};

/// `BPFLoaderUpgradeab1e11111111111111111111111`: it alone writes ProgramData accounts, each at its PDA
/// `[program_id]`.
pub const LOADER_ID: Address = Address::new_from_array([
    2, 168, 246, 145, 78, 136, 161, 176, 226, 16, 21, 62, 247, 99, 174, 43, 0, 194, 185, 61, 22, 193, 36, 210, 192, 83,
    122, 16, 4, 128, 0, 0,
]);

/// bincode's tag of `UpgradeableLoaderState::ProgramData { slot: u64, upgrade_authority_address: Option<Pubkey> }`
/// (a u32; 0 is Uninitialized, 1 Buffer, 2 Program).
const PROGRAM_DATA_TAG: u32 = 3;

/// The upgrade authority that a ProgramData account's data names: `None` once the program is immutable. The data
/// is the loader's: the tag, the slot of the last deployment, the Option's tag and the authority (32 bytes, zero
/// when `None`), then the ELF.
pub fn upgrade_authority(data: &[u8]) -> Result<Option<Address>, EscrowError> {
    let mut r = Reader::new(data, AnchorLangError::AccountDidNotDeserialize);
    let invalid = |_| EscrowError::InvalidProgramData;
    if r.u32().map_err(invalid)? != PROGRAM_DATA_TAG {
        return Err(EscrowError::InvalidProgramData);
    }
    r.u64().map_err(invalid)?;
    let has_authority = r.u8().map_err(invalid)?;
    let authority = Address::new_from_array(r.array().map_err(invalid)?);
    match has_authority {
        0 => Ok(None),
        1 => Ok(Some(authority)),
        _ => Err(EscrowError::InvalidProgramData),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program_data(tag: u32, authority: Option<[u8; 32]>, elf: &[u8]) -> Vec<u8> {
        let mut data = tag.to_le_bytes().to_vec();
        data.extend_from_slice(&42u64.to_le_bytes());
        data.push(authority.is_some() as u8);
        data.extend_from_slice(&authority.unwrap_or([0; 32]));
        data.extend_from_slice(elf);
        data
    }

    #[test]
    fn reads_the_upgrade_authority() {
        let data = program_data(3, Some([7; 32]), b"\x7fELF...");
        assert_eq!(upgrade_authority(&data), Ok(Some(Address::new_from_array([7; 32]))));
    }

    #[test]
    fn an_immutable_program_has_none() {
        assert_eq!(upgrade_authority(&program_data(3, None, b"\x7fELF")), Ok(None));
    }

    #[test]
    fn the_metadata_alone_is_enough() {
        assert_eq!(upgrade_authority(&program_data(3, Some([9; 32]), b"")), Ok(Some(Address::new_from_array([9; 32]))));
    }

    #[test]
    fn other_loader_states_are_refused() {
        // Uninitialized, Buffer (whose authority sits at another offset) and Program.
        for tag in [0, 1, 2, 4] {
            assert_eq!(upgrade_authority(&program_data(tag, Some([7; 32]), b"")), Err(EscrowError::InvalidProgramData));
        }
    }

    #[test]
    fn a_bad_option_tag_is_refused() {
        let mut data = program_data(3, Some([7; 32]), b"");
        data[12] = 2;
        assert_eq!(upgrade_authority(&data), Err(EscrowError::InvalidProgramData));
    }

    #[test]
    fn short_data_is_refused() {
        let data = program_data(3, Some([7; 32]), b"");
        for len in [0, 3, 4, 12, 13, 44] {
            assert_eq!(upgrade_authority(&data[..len]), Err(EscrowError::InvalidProgramData), "{len} bytes");
        }
    }

    /// The constant is the loader's address: its base58 spelling, decoded here since the program has no decoder.
    #[test]
    fn loader_id_is_the_upgradeable_loader() {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut bytes = [0u8; 32];
        for c in b"BPFLoaderUpgradeab1e11111111111111111111111" {
            let mut carry = ALPHABET.iter().position(|a| a == c).unwrap() as u32;
            for b in bytes.iter_mut().rev() {
                carry += *b as u32 * 58;
                *b = carry as u8;
                carry >>= 8;
            }
            assert_eq!(carry, 0);
        }
        assert_eq!(LOADER_ID, Address::new_from_array(bytes));
    }
}
