// Preloaded with `node --import`: appends the name of each npm package the process loads (by
// import or require) to the file named by LOADED_PACKAGES_FILE, once per package.
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env['LOADED_PACKAGES_FILE'];
const seen = new Set<string>();

if (file !== undefined) {
  registerHooks({
    load(url, context, nextLoad) {
      const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
      if (name !== undefined && !seen.has(name)) {
        seen.add(name);
        appendFileSync(file, `${name}\n`);
      }
      return nextLoad(url, context);
    },
  });
}
