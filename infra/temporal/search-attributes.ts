import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { searchAttributes } from '../../workflows/messages';

/** Every search attribute the lease workflow sets (DESIGN §2.8), as name → SDK type. */
export function leaseSearchAttributeTypes(): Record<string, SearchAttributeType> {
  return Object.fromEntries(Object.values(searchAttributes).map((key) => [key.name, key.type]));
}

/**
 * Registers the lease workflow's search attributes that a namespace lacks. Needed against an external
 * Temporal cluster (TEMPORAL_ADDRESS); the dev server gets them on its command line. Idempotent: a second
 * run, or two processes racing, find them present. Returns the names it added.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await listSearchAttributeNames(connection, namespace);
  const missing = Object.entries(leaseSearchAttributeTypes()).filter(([name]) => !existing.has(name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map(([name, type]) => [name, indexedValueType(type)]),
      ),
    });
  } catch (error) {
    // Another process registered them between our list and our add: fine if they are all there now.
    const now = await listSearchAttributeNames(connection, namespace);
    if (missing.some(([name]) => !now.has(name))) throw error;
  }
  return missing.map(([name]) => name);
}

function indexedValueType(type: SearchAttributeType) {
  const encoded = encodeSearchAttributeIndexedValueType(type);
  if (encoded === undefined) throw new Error(`no Temporal indexed value type for search attribute type ${type}`);
  return encoded;
}

export async function listSearchAttributeNames(connection: Connection, namespace: string): Promise<Set<string>> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  return new Set([...Object.keys(response.customAttributes ?? {}), ...Object.keys(response.systemAttributes ?? {})]);
}
