// kernels.c — four compute kernels for bench/wasm, built both to Wasm (clang --target=wasm32
// -O2 -nostdlib, like examples/) and natively (clang -O2, with native.c): Mandelbrot (the
// same code as examples/mandelbrot.c), n-body (the Benchmarks Game's, 5 bodies), a sieve of
// Eratosthenes and FNV-1a over a pseudo-random buffer. Each takes a size and returns a checksum
// the runners compare. No libc. Rebuilt by bench/wasm/run.

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(name)))
#else
#define EXPORT(name)
#endif

typedef unsigned int u32;
typedef unsigned long long u64;

// --- Mandelbrot: rows 0…n-1 of a 1024×1024 image, escape counts summed.
static int escape(double cr, double ci, int maxiter) {
	double zr = 0, zi = 0;
	int i = 0;
	while (i < maxiter && zr * zr + zi * zi <= 4.0) {
		double t = zr * zr - zi * zi + cr;
		zi = 2 * zr * zi + ci;
		zr = t;
		i++;
	}
	return i;
}

EXPORT("mandel")
int mandel(int n) {
	int sum = 0;
	for (int y = 0; y < n; y++) {
		double ci = -1.5 + 3.0 * (y % 1024) / 1024;
		for (int x = 0; x < 1024; x++) {
			sum += escape(-2.0 + 3.0 * x / 1024, ci, 256);
		}
	}
	return sum;
}

// --- n-body: n steps of 0.01; returns the energy afterwards × 1e9, truncated.
#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS 365.24
struct body { double x, y, z, vx, vy, vz, m; };

EXPORT("nbody")
long long nbody(int n) {
	struct body b[5] = {
		{0, 0, 0, 0, 0, 0, SOLAR_MASS},
		{4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
		 1.66007664274403694e-03 * DAYS, 7.69901118419740425e-03 * DAYS, -6.90460016972063023e-05 * DAYS,
		 9.54791938424326609e-04 * SOLAR_MASS},
		{8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
		 -2.76742510726862411e-03 * DAYS, 4.99852801234917238e-03 * DAYS, 2.30417297573763929e-05 * DAYS,
		 2.85885980666130812e-04 * SOLAR_MASS},
		{1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
		 2.96460137564761618e-03 * DAYS, 2.37847173959480950e-03 * DAYS, -2.96589568540237556e-05 * DAYS,
		 4.36624404335156298e-05 * SOLAR_MASS},
		{1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
		 2.68067772490389322e-03 * DAYS, 1.62824170038242295e-03 * DAYS, -9.51592254519715870e-05 * DAYS,
		 5.15138902046611451e-05 * SOLAR_MASS},
	};
	double px = 0, py = 0, pz = 0;
	for (int i = 0; i < 5; i++) {
		px += b[i].vx * b[i].m; py += b[i].vy * b[i].m; pz += b[i].vz * b[i].m;
	}
	b[0].vx = -px / SOLAR_MASS; b[0].vy = -py / SOLAR_MASS; b[0].vz = -pz / SOLAR_MASS;
	for (int s = 0; s < n; s++) {
		for (int i = 0; i < 5; i++) {
			for (int j = i + 1; j < 5; j++) {
				double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
				double d2 = dx * dx + dy * dy + dz * dz;
				double mag = 0.01 / (d2 * __builtin_sqrt(d2));
				b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
				b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
			}
		}
		for (int i = 0; i < 5; i++) {
			b[i].x += 0.01 * b[i].vx; b[i].y += 0.01 * b[i].vy; b[i].z += 0.01 * b[i].vz;
		}
	}
	double e = 0;
	for (int i = 0; i < 5; i++) {
		e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
		for (int j = i + 1; j < 5; j++) {
			double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			e -= b[i].m * b[j].m / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
		}
	}
	return (long long)(e * 1e9);
}

// --- Sieve: primes below n (n ≤ 1<<24), counted.
static unsigned char composite[1 << 24];

EXPORT("sieve")
int sieve(int n) {
	for (int i = 0; i < n; i++) composite[i] = 0;
	int count = 0;
	for (int i = 2; i < n; i++) {
		if (!composite[i]) {
			count++;
			for (long long j = (long long)i * i; j < n; j += i) composite[j] = 1;
		}
	}
	return count;
}

// --- FNV-1a: n passes over a 64 KiB buffer of xorshift bytes.
static unsigned char buf[1 << 16];

EXPORT("fnv")
long long fnv(int n) {
	u32 s = 2463534242u;
	for (int i = 0; i < (int)sizeof buf; i++) {
		s ^= s << 13; s ^= s >> 17; s ^= s << 5;
		buf[i] = (unsigned char)s;
	}
	u64 h = 14695981039346656037ull;
	for (int p = 0; p < n; p++) {
		for (int i = 0; i < (int)sizeof buf; i++) {
			h ^= buf[i];
			h *= 1099511628211ull;
		}
	}
	return (long long)h;
}
