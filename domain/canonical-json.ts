/**
 * Deterministic JSON: object keys sorted at every level, no whitespace. Two parties that hold equal
 * values get equal bytes, whatever order their objects were built in, so hashes and signatures over
 * it agree between the host agent and the verifier.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    // JSON.stringify would turn NaN/Infinity into null: two different values must never encode alike.
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot encode the number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot encode a value of type ${typeof value}`);
}
