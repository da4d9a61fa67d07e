// kernels.ts — the mandel and nbody kernels of bench/wasm/c/kernels.c in AssemblyScript, built
// as a %%ts cell is (asc -O3 --use abort=) by bench/wasm/run, to compare what the language
// costs. Same arguments, same checksums.

function escape(cr: f64, ci: f64, maxiter: i32): i32 {
  let zr = 0.0, zi = 0.0, i = 0;
  while (i < maxiter && zr * zr + zi * zi <= 4.0) {
    const t = zr * zr - zi * zi + cr;
    zi = 2 * zr * zi + ci;
    zr = t;
    i++;
  }
  return i;
}

// Rows 0…n-1 of a 1024×1024 Mandelbrot image, escape counts summed.
export function mandel(n: i32): i32 {
  let sum = 0;
  for (let y = 0; y < n; y++) {
    const ci = -1.5 + 3.0 * <f64>(y % 1024) / 1024;
    for (let x = 0; x < 1024; x++) sum += escape(-2.0 + 3.0 * <f64>x / 1024, ci, 256);
  }
  return sum;
}

const SOLAR_MASS = 4 * Math.PI * Math.PI;
const DAYS = 365.24;
// A body is 7 numbers of the array: x, y, z, vx, vy, vz, m.
const X = 0, Y = 1, Z = 2, VX = 3, VY = 4, VZ = 5, M = 6;

// n steps of 0.01 of the five bodies; the energy afterwards × 1e9, truncated.
export function nbody(n: i32): i64 {
  const b = new StaticArray<f64>(35);
  const init: f64[] = [
    0, 0, 0, 0, 0, 0, SOLAR_MASS,
    4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
    1.66007664274403694e-03 * DAYS, 7.69901118419740425e-03 * DAYS, -6.90460016972063023e-05 * DAYS,
    9.54791938424326609e-04 * SOLAR_MASS,
    8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
    -2.76742510726862411e-03 * DAYS, 4.99852801234917238e-03 * DAYS, 2.30417297573763929e-05 * DAYS,
    2.85885980666130812e-04 * SOLAR_MASS,
    1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
    2.96460137564761618e-03 * DAYS, 2.37847173959480950e-03 * DAYS, -2.96589568540237556e-05 * DAYS,
    4.36624404335156298e-05 * SOLAR_MASS,
    1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
    2.68067772490389322e-03 * DAYS, 1.62824170038242295e-03 * DAYS, -9.51592254519715870e-05 * DAYS,
    5.15138902046611451e-05 * SOLAR_MASS,
  ];
  for (let k = 0; k < 35; k++) unchecked(b[k] = init[k]);
  let px = 0.0, py = 0.0, pz = 0.0;
  for (let i = 0; i < 35; i += 7) {
    px += b[i + VX] * b[i + M]; py += b[i + VY] * b[i + M]; pz += b[i + VZ] * b[i + M];
  }
  b[VX] = -px / SOLAR_MASS; b[VY] = -py / SOLAR_MASS; b[VZ] = -pz / SOLAR_MASS;
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < 35; i += 7) {
      for (let j = i + 7; j < 35; j += 7) {
        const dx = unchecked(b[i + X] - b[j + X]), dy = unchecked(b[i + Y] - b[j + Y]), dz = unchecked(b[i + Z] - b[j + Z]);
        const d2 = dx * dx + dy * dy + dz * dz;
        const mag = 0.01 / (d2 * Math.sqrt(d2));
        const mi = unchecked(b[i + M]), mj = unchecked(b[j + M]);
        unchecked(b[i + VX] -= dx * mj * mag); unchecked(b[i + VY] -= dy * mj * mag); unchecked(b[i + VZ] -= dz * mj * mag);
        unchecked(b[j + VX] += dx * mi * mag); unchecked(b[j + VY] += dy * mi * mag); unchecked(b[j + VZ] += dz * mi * mag);
      }
    }
    for (let i = 0; i < 35; i += 7) {
      unchecked(b[i + X] += 0.01 * b[i + VX]); unchecked(b[i + Y] += 0.01 * b[i + VY]); unchecked(b[i + Z] += 0.01 * b[i + VZ]);
    }
  }
  let e = 0.0;
  for (let i = 0; i < 35; i += 7) {
    e += 0.5 * b[i + M] * (b[i + VX] * b[i + VX] + b[i + VY] * b[i + VY] + b[i + VZ] * b[i + VZ]);
    for (let j = i + 7; j < 35; j += 7) {
      const dx = b[i + X] - b[j + X], dy = b[i + Y] - b[j + Y], dz = b[i + Z] - b[j + Z];
      e -= b[i + M] * b[j + M] / Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return <i64>(e * 1e9);
}
