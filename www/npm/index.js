// npm entry: `import { init } from 'vitrina'`. Bundlers (Vite, webpack 5,
// esbuild) pick up the .wasm through the glue's `new URL(..., import.meta.url)`.
import wasmInit, * as w from './dist/vitrina_core.js';
import { create, noop } from './dist/api.js';

/** Starts Vitrina (once per page) and resolves to its API. Never rejects. */
export const init = create(wasmInit, w);
export { noop };
