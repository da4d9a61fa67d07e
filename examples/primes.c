// primes.c — counting primes by trial division: count_primes(n) costs roughly n·√n/log n, so
// its cost grows with its argument. No libc: built with clang --target=wasm32 -nostdlib.
// Rebuild with scripts/build-examples.

#define EXPORT(name) __attribute__((export_name(name)))

// is_prime is 1 when n is prime, 0 otherwise.
EXPORT("is_prime")
int is_prime(int n) {
	if (n < 2) return 0;
	if (n % 2 == 0) return n == 2;
	for (int d = 3; d <= n / d; d += 2) {
		if (n % d == 0) return 0;
	}
	return 1;
}

// count_primes is the number of primes below n.
EXPORT("count_primes")
int count_primes(int n) {
	int count = 0;
	for (int i = 2; i < n; i++) {
		count += is_prime(i);
	}
	return count;
}

// count_range is the number of primes in [lo, hi): a chunk of count_primes for a map.
EXPORT("count_range")
int count_range(int lo, int hi) {
	int count = 0;
	for (int i = lo; i < hi; i++) {
		count += is_prime(i);
	}
	return count;
}
