/**
 * kysely 0.29 serves its Migrator only from the `kysely/migration` subpath (package "exports"), which
 * tsconfig's `moduleResolution: node` cannot see; Node, tsx and jest resolve it fine at run time.
 * This points the type checker at the file that subpath loads. Delete it if tsconfig moves to
 * node16/bundler resolution.
 */
declare module 'kysely/migration' {
  export * from 'kysely/dist/migration/index';
}
