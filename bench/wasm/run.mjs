// run.mjs — runs kernels.wasm on Node.js (V8): prints "name checksum best-seconds" per kernel,
// the best of REPS runs, after one small untimed warm-up call.
// Usage: node run.mjs KERNELS.wasm REPS name=arg...
import { readFileSync } from "node:fs";
const [file, reps, ...runs] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
for (const run of runs) {
  const [name, arg] = run.split("=");
  const f = instance.exports[name];
  let best = Infinity, r;
  f(Math.min(Number(arg), 10));
  for (let k = 0; k < Number(reps); k++) {
    const t0 = process.hrtime.bigint();
    r = f(Number(arg));
    const t = Number(process.hrtime.bigint() - t0) / 1e9;
    if (t < best) best = t;
  }
  console.log(`${name} ${r} ${best.toFixed(6)}`);
}
