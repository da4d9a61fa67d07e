// native.c — runs kernels.c natively: prints "name checksum best-seconds" per kernel, the best
// of REPS runs. Built with clang -O2 by bench/wasm/run.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernels.c"

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

#define RUN(name, arg) do { \
	double best = 1e9; long long r = 0; \
	for (int k = 0; k < reps; k++) { double t0 = now(); r = name(arg); double t = now() - t0; if (t < best) best = t; } \
	printf("%s %lld %.6f\n", #name, r, best); \
} while (0)

int main(int argc, char **argv) {
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	RUN(mandel, MANDEL_N);
	RUN(nbody, NBODY_N);
	RUN(sieve, SIEVE_N);
	RUN(fnv, FNV_N);
	return 0;
}
