// The script-tag build's module: wasm-bindgen glue + the shared API, bundled by
// esbuild into www/dist/vitrina-core.js, loaded by the loader with import().
import init, * as w from '../../target/wasm-bindgen/vitrina_core.js';
import { create } from './api.js';

export const start = create(init, w);
