/** Slots, blockhashes, epochs and node facts: all from the wall clock and the genesis of this chain. */
import { z } from 'zod';
import { SLOTS_PER_EPOCH } from '../clock';
import {
  API_VERSION,
  RpcError,
  commitmentConfig,
  configParam,
  param,
  withContext,
  type RpcMethod,
} from '../rpc-params';

const BLOCK_NOT_AVAILABLE = -32004;
const slotParam = z.number().int().nonnegative();

export const clusterMethods: Record<string, RpcMethod> = {
  getHealth: () => 'ok',
  getVersion: () => ({ 'solana-core': API_VERSION, 'feature-set': 0 }),
  getGenesisHash: (_, chain) => chain.clock.genesis.hash,
  getIdentity: (_, chain) => ({ identity: chain.clock.genesis.hash }),
  getSlot: (params, chain) => {
    configParam(params, 0, commitmentConfig);
    return chain.tick();
  },
  getBlockHeight: (params, chain) => {
    configParam(params, 0, commitmentConfig);
    return chain.clock.blockHeight();
  },
  getLatestBlockhash: (params, chain) => {
    configParam(params, 0, commitmentConfig);
    const { slot, blockhash, lastValidBlockHeight } = chain.clock.latestBlockhash();
    return withContext(slot, { blockhash, lastValidBlockHeight });
  },
  isBlockhashValid: (params, chain) => {
    const blockhash = param(params, 0, z.string(), 'blockhash');
    configParam(params, 1, commitmentConfig);
    return withContext(chain.tick(), chain.clock.blockhashSlot(blockhash) !== undefined);
  },
  getEpochInfo: (_, chain) => {
    const slot = chain.tick();
    return {
      absoluteSlot: slot,
      blockHeight: slot,
      epoch: Math.floor(slot / SLOTS_PER_EPOCH),
      slotIndex: slot % SLOTS_PER_EPOCH,
      slotsInEpoch: SLOTS_PER_EPOCH,
      transactionCount: chain.store.transactions.size,
    };
  },
  getEpochSchedule: () => ({
    slotsPerEpoch: SLOTS_PER_EPOCH,
    leaderScheduleSlotOffset: SLOTS_PER_EPOCH,
    warmup: false,
    firstNormalEpoch: 0,
    firstNormalSlot: 0,
  }),
  getBlockTime: (params, chain) => {
    const slot = param(params, 0, slotParam, 'slot');
    if (slot > chain.tick()) throw new RpcError(BLOCK_NOT_AVAILABLE, `Block not available for slot ${slot}`);
    return chain.clock.blockTime(slot);
  },
  getFirstAvailableBlock: () => 0,
  minimumLedgerSlot: () => 0,
  getTransactionCount: (_, chain) => chain.store.transactions.size,
  getMaxRetransmitSlot: (_, chain) => chain.tick(),
  getMaxShredInsertSlot: (_, chain) => chain.tick(),
  getRecentPrioritizationFees: () => [],
  getMinimumBalanceForRentExemption: (params, chain) => {
    const size = param(params, 0, z.number().int().nonnegative().max(10 * 1024 * 1024), 'data length');
    return Number(chain.svm.minimumBalanceForRentExemption(BigInt(size)));
  },
};
