/**
 * A program as `solana program deploy` leaves it under the upgradeable BPF loader: the executable Program account,
 * which points at its ProgramData account (the loader's PDA `[program id]`), which holds the upgrade authority and
 * the ELF. lease_escrow lets only that authority initialize its Config, so the local chain and the LiteSVM tests
 * deploy it this way. Both accounts are written straight into LiteSVM: a real deploy goes through a buffer in many
 * transactions, and the resulting accounts are the same.
 */
import { PublicKey } from '@solana/web3.js';
import type { LiteSVM } from 'litesvm';
import { UPGRADEABLE_LOADER_ID, programDataAddress } from '../escrow-client';

/** bincode's `UpgradeableLoaderState` variant tags (a u32 each). */
const PROGRAM_TAG = 2;
const PROGRAM_DATA_TAG = 3;
/** Tag, slot (u64), the upgrade authority's Option tag and 32 bytes (zero when None): the ELF starts after. */
export const PROGRAM_DATA_METADATA_LEN = 4 + 8 + 1 + 32;

export interface UpgradeableProgram {
  programId: PublicKey;
  elf: Uint8Array;
  /** null: immutable, as after `solana program set-upgrade-authority --final`. */
  upgradeAuthority: PublicKey | null;
}

/** `UpgradeableLoaderState::ProgramData { slot, upgrade_authority_address }`, then the ELF. */
export function programDataBytes(elf: Uint8Array, upgradeAuthority: PublicKey | null, slot = 0n): Buffer {
  const header = Buffer.alloc(PROGRAM_DATA_METADATA_LEN);
  header.writeUInt32LE(PROGRAM_DATA_TAG, 0);
  header.writeBigUInt64LE(slot, 4);
  if (upgradeAuthority !== null) {
    header.writeUInt8(1, 12);
    upgradeAuthority.toBuffer().copy(header, 13);
  }
  return Buffer.concat([header, elf]);
}

/** The upgrade authority a ProgramData account's data names (null: immutable); undefined when it is no ProgramData. */
export function upgradeAuthorityOf(data: Uint8Array): PublicKey | null | undefined {
  if (data.length < PROGRAM_DATA_METADATA_LEN) return undefined;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.readUInt32LE(0) !== PROGRAM_DATA_TAG) return undefined;
  return bytes[12] === 1 ? new PublicKey(bytes.subarray(13, PROGRAM_DATA_METADATA_LEN)) : null;
}

/** `UpgradeableLoaderState::Program { programdata_address }`. */
function programBytes(programData: PublicKey): Buffer {
  const data = Buffer.alloc(4 + 32);
  data.writeUInt32LE(PROGRAM_TAG, 0);
  programData.toBuffer().copy(data, 4);
  return data;
}

/**
 * Writes both accounts, rent-exempt, and returns the ProgramData address. `programData` given: that account as it
 * is (the chain's own record of a deployment); else one built from `elf` and `upgradeAuthority`. The ProgramData
 * goes first: LiteSVM loads the program when the Program account is written, from the ProgramData it points at.
 */
export function deployUpgradeable(svm: LiteSVM, program: UpgradeableProgram, programData?: Uint8Array): PublicKey {
  const address = programDataAddress(program.programId);
  const rent = (bytes: Uint8Array) => Number(svm.minimumBalanceForRentExemption(BigInt(bytes.length)));
  const data = programData ?? programDataBytes(program.elf, program.upgradeAuthority);
  svm.setAccount(address, { lamports: rent(data), data, owner: UPGRADEABLE_LOADER_ID, executable: false });
  const pointer = programBytes(address);
  svm.setAccount(program.programId, { lamports: rent(pointer), data: pointer, owner: UPGRADEABLE_LOADER_ID,
    executable: true });
  return address;
}
