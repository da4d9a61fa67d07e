// kernels.rs — the mandel and nbody kernels of bench/wasm/c/kernels.c in Rust, built as a
// %%rust cell is (rustc --target wasm32-unknown-unknown --crate-type cdylib -O) by
// bench/wasm/run, to compare what the language costs. Same arguments, same checksums.

fn escape(cr: f64, ci: f64, maxiter: i32) -> i32 {
    let (mut zr, mut zi, mut i) = (0.0, 0.0, 0);
    while i < maxiter && zr * zr + zi * zi <= 4.0 {
        let t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
        i += 1;
    }
    i
}

/// Rows 0…n-1 of a 1024×1024 Mandelbrot image, escape counts summed.
#[no_mangle]
pub extern "C" fn mandel(n: i32) -> i32 {
    let mut sum = 0i32;
    for y in 0..n {
        let ci = -1.5 + 3.0 * (y % 1024) as f64 / 1024.0;
        for x in 0..1024 {
            sum = sum.wrapping_add(escape(-2.0 + 3.0 * x as f64 / 1024.0, ci, 256));
        }
    }
    sum
}

#[derive(Clone, Copy)]
struct Body {
    x: f64,
    y: f64,
    z: f64,
    vx: f64,
    vy: f64,
    vz: f64,
    m: f64,
}

const PI: f64 = 3.141592653589793;
const SOLAR_MASS: f64 = 4.0 * PI * PI;
const DAYS: f64 = 365.24;

/// n steps of 0.01 of the five bodies; the energy afterwards × 1e9, truncated.
#[no_mangle]
pub extern "C" fn nbody(n: i32) -> i64 {
    let mut b = [
        Body { x: 0.0, y: 0.0, z: 0.0, vx: 0.0, vy: 0.0, vz: 0.0, m: SOLAR_MASS },
        Body {
            x: 4.84143144246472090e+00, y: -1.16032004402742839e+00, z: -1.03622044471123109e-01,
            vx: 1.66007664274403694e-03 * DAYS, vy: 7.69901118419740425e-03 * DAYS, vz: -6.90460016972063023e-05 * DAYS,
            m: 9.54791938424326609e-04 * SOLAR_MASS,
        },
        Body {
            x: 8.34336671824457987e+00, y: 4.12479856412430479e+00, z: -4.03523417114321381e-01,
            vx: -2.76742510726862411e-03 * DAYS, vy: 4.99852801234917238e-03 * DAYS, vz: 2.30417297573763929e-05 * DAYS,
            m: 2.85885980666130812e-04 * SOLAR_MASS,
        },
        Body {
            x: 1.28943695621391310e+01, y: -1.51111514016986312e+01, z: -2.23307578892655734e-01,
            vx: 2.96460137564761618e-03 * DAYS, vy: 2.37847173959480950e-03 * DAYS, vz: -2.96589568540237556e-05 * DAYS,
            m: 4.36624404335156298e-05 * SOLAR_MASS,
        },
        Body {
            x: 1.53796971148509165e+01, y: -2.59193146099879641e+01, z: 1.79258772950371181e-01,
            vx: 2.68067772490389322e-03 * DAYS, vy: 1.62824170038242295e-03 * DAYS, vz: -9.51592254519715870e-05 * DAYS,
            m: 5.15138902046611451e-05 * SOLAR_MASS,
        },
    ];
    let (mut px, mut py, mut pz) = (0.0, 0.0, 0.0);
    for bi in &b {
        px += bi.vx * bi.m;
        py += bi.vy * bi.m;
        pz += bi.vz * bi.m;
    }
    b[0].vx = -px / SOLAR_MASS;
    b[0].vy = -py / SOLAR_MASS;
    b[0].vz = -pz / SOLAR_MASS;
    for _ in 0..n {
        for i in 0..5 {
            for j in i + 1..5 {
                let (dx, dy, dz) = (b[i].x - b[j].x, b[i].y - b[j].y, b[i].z - b[j].z);
                let d2 = dx * dx + dy * dy + dz * dz;
                let mag = 0.01 / (d2 * d2.sqrt());
                let (mi, mj) = (b[i].m, b[j].m);
                b[i].vx -= dx * mj * mag;
                b[i].vy -= dy * mj * mag;
                b[i].vz -= dz * mj * mag;
                b[j].vx += dx * mi * mag;
                b[j].vy += dy * mi * mag;
                b[j].vz += dz * mi * mag;
            }
        }
        for bi in b.iter_mut() {
            bi.x += 0.01 * bi.vx;
            bi.y += 0.01 * bi.vy;
            bi.z += 0.01 * bi.vz;
        }
    }
    let mut e = 0.0;
    for i in 0..5 {
        e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for j in i + 1..5 {
            let (dx, dy, dz) = (b[i].x - b[j].x, b[i].y - b[j].y, b[i].z - b[j].z);
            e -= b[i].m * b[j].m / (dx * dx + dy * dy + dz * dz).sqrt();
        }
    }
    (e * 1e9) as i64
}
