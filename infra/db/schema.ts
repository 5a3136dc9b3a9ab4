import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The PostgreSQL schema as kysely sees it. Migrations under infra/db/migrations/ create it;
 * repositories take a `Kysely<Database>` (or a transaction) and never build SQL strings by hand.
 *
 * Money columns are token base units (6 decimals) in `bigint`; pg returns them as strings.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type BaseUnits = ColumnType<string, string | bigint, string | bigint>;
/** Set by the database on insert; a plain Date when read. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface CustomerTable {
  id: string;
  name: string;
  /** sha256 hex of the API key; the key itself is shown once and never stored. */
  api_key_hash: string;
  /** base58 Solana wallet that funds the customer's escrows; null until it has one. */
  wallet_address: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the customer last proved, by signing, that the wallet is its own (POST /v1/wallet). */
  wallet_registered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: CreatedAt;
}

/** Operators: run the engine and read the whole fleet and market (/v1/operator/*, the dashboard). */
export interface OperatorTable {
  id: string;
  name: string;
  /** sha256 hex of the operator key; the key itself is shown once and never stored. */
  api_key_hash: string;
  created_at: CreatedAt;
}

export interface ProviderTable {
  id: string;
  name: string;
  /** Tier certified by operators; hosts inherit it and cannot claim better. */
  tier: number;
  /** sha256 hex of the provider key hosts present when they register. */
  api_key_hash: string;
  /** base58 token account of the payment mint that receives the provider's payouts; null until registered. */
  payout_token_account: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
}

export type HostStatus = 'online' | 'lost' | 'offline';

export interface HostTable {
  id: string;
  provider_id: string;
  /** base58 ed25519 public key (a Solana address); verifies every request and receipt of the host. */
  public_key: string;
  tier: number;
  status: HostStatus;
  /** 'nvidia' when the agent read nvidia-smi, 'simulated' otherwise. */
  gpu_source: 'nvidia-smi' | 'simulated';
  /** Last registration or report: a host silent past the heartbeat timeout is lost. */
  last_heartbeat_at: Timestamp | null;
  registered_at: CreatedAt;
  /** Moves whenever the host's desired state does; its long poll waits for it to pass what it has. */
  desired_version: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
  /** Out of placement until then: it left a dispatch unstarted or kept sending rejected receipts. */
  unhealthy_until: Timestamp | null;
}

export type GpuStatus = 'free' | 'reserved' | 'offline';

export interface GpuTable {
  id: string;
  host_id: string;
  model: string;
  vram_gb: number;
  tier: number;
  price_per_gpu_hour: BaseUnits;
  status: GpuStatus;
  /** Lease holding the GPU while status = 'reserved'. */
  lease_id: string | null;
  /** Reservation that took it: makes reserveGpus idempotent on retry. */
  reservation_id: string | null;
}

export interface LeaseTable {
  id: string;
  customer_id: string;
  status: string;
  end_reason: string | null;
  gpu_model: string;
  gpu_count: number;
  min_tier: number;
  max_price_per_gpu_hour: BaseUnits;
  /** Null: the lease runs until cancelled, or until its allowance can no longer fund it. */
  duration_seconds: number | null;
  image: string;
  command: Json<string[] | null> | null;
  env: Json<Record<string, string> | null> | null;
  idempotency_key: string | null;
  /** sha256 of the request body, to tell a retry from a different request with the same key. */
  request_hash: string;
  failover_count: Generated<number>;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  ends_at: Timestamp | null;
  ended_at: Timestamp | null;
}

export interface AssignmentTable {
  id: string;
  lease_id: string;
  gpu_id: string;
  host_id: string;
  provider_id: string;
  tier: number;
  price_per_gpu_hour: BaseUnits;
  rank: number;
  epoch: number;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  end_reason: string | null;
  verified_seconds: Generated<number>;
  /** What the host must do with the container: 'stop' once the assignment ended. */
  desired_state: Generated<DesiredContainerState>;
  /** The container the host runs: image, command, env and the rendezvous contract. */
  container: Json<AssignmentContainer | null> | null;
  proof_interval_ms: Generated<number>;
  /** The settlement period the host's receipts answer now, and its challenge seed (set by the workflow). */
  period: Generated<number>;
  challenge_seed: Generated<string>;
  /** The period before, still accepted for receipts signed before the host saw the new one. */
  prev_period: number | null;
  prev_challenge_seed: string | null;
  /** The host's last word on the container, and when the API heard it. */
  reported_state: string | null;
  reported_exit_code: number | null;
  reported_detail: string | null;
  reported_at: Timestamp | null;
  /** When the host first reported the container running (API clock): the dispatch is done. */
  running_at: Timestamp | null;
  /** The last accepted receipt: only accepted receipts move the tip. */
  tip_seq: number | null;
  tip_hash: string | null;
  tip_at: Timestamp | null;
  tip_state: string | null;
  /** API arrival of the first and the latest accepted receipt: the time the engine watched pass. */
  first_receipt_at: Timestamp | null;
  last_receipt_at: Timestamp | null;
  /** Sum of the accepted receipts' payable ms; never above last_receipt_at - first_receipt_at. */
  payable_ms: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
  /** Reports in a row with a rejected receipt; reset by an accepted one. */
  rejected_streak: Generated<number>;
  /** Receipts refused on arrival, all told (never reset): evidence for the provider's reliability score. */
  rejected_receipts: Generated<number>;
  /** Why the fleet monitor told the lease workflow to replace or end this assignment, and when it last did. */
  fault: string | null;
  fault_signalled_at: Timestamp | null;
}

export type DesiredContainerState = 'run' | 'stop';

export interface AssignmentContainer {
  image: string;
  command?: string[];
  env?: Record<string, string>;
  worldSize: number;
  headHost: string;
}

export interface HostEventTable {
  id: Generated<string>;
  host_id: string;
  at: CreatedAt;
  /** 'lost' (silent past the heartbeat timeout), 'start_timeout', 'start_failed', 'receipts_rejected', 'no_proof'. */
  kind: string;
  assignment_id: string | null;
  detail: string;
}

export interface ProofReceiptTable {
  assignment_id: string;
  seq: number;
  lease_id: string;
  epoch: number;
  host_id: string;
  gpu_id: string;
  period: number;
  at: Timestamp;
  hash: string;
  prev_hash: string;
  signature: string;
  /** Milliseconds this receipt adds to its assignment's payable time (0 after a gap). */
  payable_ms: number;
  body: Json<unknown>;
  /** API clock when the receipt arrived. */
  received_at: CreatedAt;
  /** The settlement period whose digest took this receipt; null until one did. */
  settled_period: number | null;
}

/** 'opening' while open_lease is signed but not known to have landed. */
export type EscrowStatus = 'opening' | 'open' | 'closed' | 'reclaimed';
export type WriteAheadStatus = 'pending' | 'confirmed';

export interface EscrowTable {
  lease_id: string;
  /** The Lease PDA, base58. */
  address: string;
  vault: string;
  customer_wallet: string;
  mint: string;
  /** Base units; the Lease account's `deposited` (top-ups included) once known. */
  deposited: BaseUnits;
  max_rate_per_second: BaseUnits;
  /** The seconds the deposit has bought, as the Lease account counts them (its end is start + this). */
  duration_seconds: BaseUnits;
  /** Lease.window_seconds: how far past the chain's clock the deposit may reach. */
  window_seconds: ColumnType<string, string | bigint | number | undefined, string | bigint | number>;
  status: EscrowStatus;
  /** Written before open_lease is sent. */
  open_signature: string;
  /** The signed open_lease, base64, and the block height after which it can no longer land. */
  open_transaction: string | null;
  open_last_valid_block_height: ColumnType<string | null, string | bigint | number | null, string | bigint | number | null>;
  closed_signature: string | null;
  refunded: ColumnType<string, string | bigint | undefined, string | bigint>;
  created_at: CreatedAt;
  opened_at: Timestamp | null;
}

export interface SettlementTable {
  lease_id: string;
  period: ColumnType<string, string | bigint | number, string | bigint | number>;
  kind: 'settle' | 'close';
  status: WriteAheadStatus;
  /** The signed transaction's signature, written before it is sent. */
  signature: string;
  /** The signed transaction, base64: a retry sends exactly these bytes again while they can still land. */
  transaction: string;
  last_valid_block_height: ColumnType<string, string | bigint | number, string | bigint | number>;
  /** Hex, 32 bytes: domain/billing receiptsDigest. */
  receipts_digest: string;
  gross: BaseUnits;
  /** The treasury's part of the fees (the program's Lease.fees); the burned part is `burned`. */
  fee: BaseUnits;
  burned: BaseUnits;
  refunded: ColumnType<string, string | bigint | undefined, string | bigint>;
  /** The rolling deposit's top-up in the same transaction, drawn from the customer's allowance (0 for none). */
  top_up: ColumnType<string, string | bigint | undefined, string | bigint>;
  /** The seconds that top-up bought (added to the escrow's duration_seconds). */
  top_up_seconds: ColumnType<string, string | bigint | number | undefined, string | bigint | number>;
  created_at: CreatedAt;
  confirmed_at: Timestamp | null;
}

export interface SettlementPayoutTable {
  lease_id: string;
  period: ColumnType<string, string | bigint | number, string | bigint | number>;
  provider_id: string;
  token_account: string;
  seconds: number;
  /** gross = net (to the provider) + fee (to the treasury) + burn, exactly as the program splits it. */
  gross: BaseUnits;
  net: BaseUnits;
  fee: BaseUnits;
  burn: BaseUnits;
}

export interface Database {
  customers: CustomerTable;
  operators: OperatorTable;
  providers: ProviderTable;
  hosts: HostTable;
  gpus: GpuTable;
  leases: LeaseTable;
  assignments: AssignmentTable;
  proof_receipts: ProofReceiptTable;
  escrows: EscrowTable;
  settlements: SettlementTable;
  settlement_payouts: SettlementPayoutTable;
  host_events: HostEventTable;
  api_liveness: ApiLivenessTable;
  fleet_hold: FleetHoldTable;
  lease_events: LeaseEventTable;
  container_logs: ContainerLogTable;
  container_log_meters: ContainerLogMeterTable;
}

/** What happened to a lease (GET /v1/leases/:id/events); written where each change is made. */
export interface LeaseEventTable {
  id: Generated<string>;
  lease_id: string;
  /** The lease's events in commit order, from 1; a reader resumes after the last one it saw. */
  seq: number;
  at: CreatedAt;
  /** 'status', 'placed', 'running', 'ended'. */
  kind: string;
  /** Natural key that makes the event idempotent under retries; null for status events. */
  key: string | null;
  detail: Json<Record<string, unknown>>;
}

/** A line a lease's container wrote (GET /v1/leases/:id/logs), or the engine's marker of dropped lines. */
export interface ContainerLogTable {
  lease_id: string;
  /** The lease's lines in commit order, from 1, across ranks and failovers. */
  seq: ColumnType<string, string | number | bigint, never>;
  assignment_id: string;
  rank: number;
  epoch: number;
  /** 'stdout' or 'stderr'. */
  stream: string;
  /** When the container wrote it (host clock). */
  at: Timestamp;
  text: string;
  /** UTF-8 length of text: what the retention and rate bounds count. */
  bytes: number;
}

/** Per assignment: its log rate window and what it keeps, so bounds hold without scanning its lines. */
export interface ContainerLogMeterTable {
  assignment_id: string;
  lease_id: string;
  window_started_at: Timestamp;
  window_bytes: Generated<number>;
  /** Lines dropped (by the rate bound or the host) not yet marked in the log. */
  dropped_pending: Generated<number>;
  kept_lines: Generated<number>;
  kept_bytes: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
}

/** One row per API process, refreshed every second while it serves. */
export interface ApiLivenessTable {
  instance: string;
  started_at: Timestamp;
  seen_at: Timestamp;
}

/** The fleet monitors' hold on judging hosts by their silence (one row, 'mass_silence'). */
export interface FleetHoldTable {
  id: string;
  held_until: Timestamp;
}

export type Customer = Selectable<CustomerTable>;
export type Operator = Selectable<OperatorTable>;
export type Provider = Selectable<ProviderTable>;
export type Host = Selectable<HostTable>;
export type Gpu = Selectable<GpuTable>;
export type Lease = Selectable<LeaseTable>;
export type NewLease = Insertable<LeaseTable>;
export type LeaseUpdate = Updateable<LeaseTable>;
export type Assignment = Selectable<AssignmentTable>;
export type HostEvent = Selectable<HostEventTable>;
export type ProofReceiptRow = Selectable<ProofReceiptTable>;
export type Escrow = Selectable<EscrowTable>;
export type Settlement = Selectable<SettlementTable>;
export type SettlementPayout = Selectable<SettlementPayoutTable>;
export type LeaseEventRow = Selectable<LeaseEventTable>;
