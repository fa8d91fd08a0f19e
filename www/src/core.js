// The script-tag build's module: the wasm glue + the shared API, bundled by
// esbuild into www/dist/vitrina-core.js, loaded by the loader with import().
// (The glue's Core class is passed as { Core }, not as a namespace object, which
// would need a runtime helper that esbuild's code splitting puts in a chunk of
// its own.)
import init, { Core } from './vitrina_core.js';
import { create } from './api.js';

export const start = create(init, { Core });
