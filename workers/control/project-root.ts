import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The repository root: the nearest folder above this module with a package.json. Found, not assumed two
 * levels up, because this code also runs compiled into .build/control-worker.js (one level down).
 */
export const PROJECT_ROOT = (() => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
})();
