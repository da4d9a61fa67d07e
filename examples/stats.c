// stats.c — the sum and the histogram of a large f64 array, and a scaled copy: data-bound
// functions whose cost is the bytes they read. A map over the parts of an array adds up: the
// sum of the parts' sums (up to rounding) and the sum of their histograms. A WASI reactor built
// with wasi-libc for its malloc and free, which Rain uses to pass arrays; it imports nothing.
// Rebuild with scripts/build-examples.
//
//   double sum(const double *xs, int n);
//   void histogram(const double *xs, int n, double lo, double hi, int nbins, int *counts);
//   void scale(const double *xs, int n, double k, double *out);

#define EXPORT(name) __attribute__((export_name(name)))

// sum is xs[0] + xs[1] + … + xs[n-1], added in that order; 0 when n ≤ 0.
EXPORT("sum")
double sum(const double *xs, int n) {
	double s = 0;
	for (int i = 0; i < n; i++) {
		s += xs[i];
	}
	return s;
}

// histogram counts xs into nbins equal bins over [lo, hi]: counts[b] is the number of xs in
// [lo + b·w, lo + (b+1)·w) with w = (hi - lo) / nbins, the last bin closed (hi is counted in
// it), as numpy.histogram does. Values outside [lo, hi] and NaNs are not counted. counts is
// written, not added to; nothing is written when nbins ≤ 0, and all counts are 0 unless lo < hi.
EXPORT("histogram")
void histogram(const double *xs, int n, double lo, double hi, int nbins, int *counts) {
	if (nbins <= 0) return;
	for (int b = 0; b < nbins; b++) {
		counts[b] = 0;
	}
	if (!(lo < hi)) return;
	double width = hi - lo;
	for (int i = 0; i < n; i++) {
		double x = xs[i];
		if (!(x >= lo && x <= hi)) continue;
		int b = (int)((x - lo) / width * nbins);
		if (b >= nbins) b = nbins - 1;
		counts[b]++;
	}
}

// scale writes xs[i]·k into out[i] for i < n; out may be xs.
EXPORT("scale")
void scale(const double *xs, int n, double k, double *out) {
	for (int i = 0; i < n; i++) {
		out[i] = xs[i] * k;
	}
}
