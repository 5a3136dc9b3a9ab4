'use strict';
/* global require, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: it runs before any loader */
/**
 * The control worker's entry: `node workers/control/start.cjs`. Runs .build/control-worker.js (compiled ahead
 * by workers/control/compiled-worker.ts: no tsx at start) when every source it was compiled from is
 * unchanged, per its manifest of sha256s; otherwise runs the TypeScript (workers/control/main.ts) through
 * tsx, so an edited source is never run stale. Plain JavaScript: it must run before any TypeScript can.
 * CONTROL_WORKER_COMPILED=off always takes the tsx path.
 */
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const compiled = path.join(root, '.build', 'control-worker.js');
const manifest = path.join(root, '.build', 'control-worker.inputs.json');

function compiledIsCurrent() {
  try {
    const { inputs } = JSON.parse(readFileSync(manifest, 'utf8'));
    const files = Object.entries(inputs);
    return (
      files.length > 0 &&
      files.every(([file, hash]) => createHash('sha256').update(readFileSync(path.join(root, file))).digest('hex') === hash)
    );
  } catch {
    // No manifest, a source gone, unreadable: not current.
    return false;
  }
}

if (process.env.CONTROL_WORKER_COMPILED !== 'off' && compiledIsCurrent()) {
  // Stack traces name the TypeScript sources (the compiled file carries its source map).
  process.setSourceMapsEnabled(true);
  require(compiled);
} else {
  // Started with `--import tsx` already (tests do): .ts loads as it is.
  if (!require.extensions['.ts']) require('tsx/cjs/api').register();
  require('./main.ts');
}
