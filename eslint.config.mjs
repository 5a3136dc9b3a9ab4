// Lint as sdk-typescript does: floating promises and type-only imports are errors, no import cycles,
// and workflow code may not reach Node built-ins or I/O libraries (it must replay deterministically).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

const ioModules = ['fs', 'path', 'crypto', 'child_process', 'net', 'http', 'https', 'os', 'dockerode', 'pg',
  'kysely', '@solana/web3.js', '@coral-xyz/anchor', 'express', 'pino'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'target/', '.tmp/', 'programs/**/target/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    plugins: { 'import-x': importX },
    // Cycles are ours to find; parsing dependencies' bundles (PGlite's is megabytes) finds none and overflows.
    settings: { 'import-x/ignore': ['node_modules'] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules.flatMap((name) => [name, `node:${name}`]).map((name) => ({
          name, message: 'workflow and domain code must stay free of I/O (it is replayed deterministically)',
        })),
      }],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' }],
    },
  },
  {
    // The customer's CLI is a client of the REST API: no database, chain or Temporal behind its commands.
    files: ['api/cli/**/*.ts'],
    ignores: ['api/cli/operator.commands.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/infra/**', '**/activities/**', '**/workflows/**'], message: 'customer commands reach the engine only through the REST API' }],
      }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'use Temporal’s deterministic random' },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'use Temporal’s workflow clock deliberately, through domain time helpers' },
      ],
    },
  },
);
