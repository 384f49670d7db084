// What require('tapegrad') loads: tapegrad is an ES module only (its Node entry starts the
// backend with top-level await, which CommonJS cannot wait for), so this says how to import it.
const error = new Error(
  'tapegrad is an ES module and cannot be loaded with require(). Import it from an ES module ' +
    '(a .mjs file, or "type": "module" in package.json): import * as tg from \'tapegrad\'; ' +
    "or, from CommonJS: const tg = await import('tapegrad');",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
