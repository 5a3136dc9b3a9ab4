/**
 * Every migration, listed explicitly: a folder scan (FileMigrationProvider) depends on the file
 * extension the runtime sees (.ts under tsx and jest, .js when compiled), an import list does not.
 * Names sort by their timestamp prefix, which is the order kysely runs them in.
 */
import type { Migration } from 'kysely/migration';
import * as partiesAndInventory from './2026_11_25_0001_parties_and_inventory';
import * as leasesAndAssignments from './2026_11_25_0002_leases_and_assignments';
import * as proofReceipts from './2026_11_25_0003_proof_receipts';
import * as escrowLedger from './2026_11_25_0004_escrow_ledger';
import * as hostProtocol from './2026_12_01_0005_host_protocol';
import * as leaseEvents from './2026_12_01_0006_lease_events';
import * as customerAllowance from './2026_12_01_0007_customer_allowance';
import * as containerLogs from './2026_12_01_0008_container_logs';
import * as operators from './2026_12_01_0009_operators';
import * as providerReliability from './2026_12_01_0010_provider_reliability';
import * as fleetHold from './2026_12_01_0011_fleet_hold';

export const migrations: Record<string, Migration> = {
  '2026_11_25_0001_parties_and_inventory': partiesAndInventory,
  '2026_11_25_0002_leases_and_assignments': leasesAndAssignments,
  '2026_11_25_0003_proof_receipts': proofReceipts,
  '2026_11_25_0004_escrow_ledger': escrowLedger,
  '2026_12_01_0005_host_protocol': hostProtocol,
  '2026_12_01_0006_lease_events': leaseEvents,
  '2026_12_01_0007_customer_allowance': customerAllowance,
  '2026_12_01_0008_container_logs': containerLogs,
  '2026_12_01_0009_operators': operators,
  '2026_12_01_0010_provider_reliability': providerReliability,
  '2026_12_01_0011_fleet_hold': fleetHold,
};
