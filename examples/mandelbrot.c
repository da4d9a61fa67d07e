// mandelbrot.c — the Mandelbrot set, one row at a time: a compute-bound example whose unit
// of work (a row) costs about a millisecond. row(y) sums a row's escape counts; row_pixels(y,
// out) writes its pixels, so a map of it over the rows is the image. A WASI reactor built with
// wasi-libc for its malloc and free, which Rain uses to pass arrays; it imports nothing.
// Rebuild with scripts/build-examples.

#define WIDTH 1024
#define HEIGHT 1024
#define MAXITER 256

#define EXPORT(name) __attribute__((export_name(name)))

// escape is the number of iterations before z = z² + c leaves the disc of radius 2, or maxiter.
EXPORT("escape")
int escape(double cr, double ci, int maxiter) {
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

// row is the sum of the escape counts of row y of a WIDTH×HEIGHT image of [-2,1]×[-1.5,1.5].
EXPORT("row")
int row(int y) {
	double ci = -1.5 + 3.0 * y / HEIGHT;
	int sum = 0;
	for (int x = 0; x < WIDTH; x++) {
		sum += escape(-2.0 + 3.0 * x / WIDTH, ci, MAXITER);
	}
	return sum;
}

// shade is the grey level of a point that took i iterations: 0 (black) inside the set, else
// log2(i) scaled to 0..255 — 32 levels per doubling of i, linear between powers of two — so the
// bands of the outside and the bright filaments at the set's edge both show.
static unsigned char shade(int i) {
	if (i <= 0 || i >= MAXITER) return 0;
	int k = 31 - __builtin_clz(i); // 2^k ≤ i < 2^(k+1), k ≤ 7
	return (unsigned char)(32 * k + (32 * (i - (1 << k)) >> k));
}

// row_pixels writes the pixels of row y of the image row(y) sums into out[0..WIDTH), one grey
// level (shade) per pixel: a map of it over the rows is the image.
//   void row_pixels(int y, unsigned char *out);
EXPORT("row_pixels")
void row_pixels(int y, unsigned char *out) {
	double ci = -1.5 + 3.0 * y / HEIGHT;
	for (int x = 0; x < WIDTH; x++) {
		out[x] = shade(escape(-2.0 + 3.0 * x / WIDTH, ci, MAXITER));
	}
}

// rows is the sum of row(y) for y in [y0, y0+n).
EXPORT("rows")
int rows(int y0, int n) {
	int sum = 0;
	for (int y = y0; y < y0 + n; y++) {
		sum += row(y);
	}
	return sum;
}

// width and height are the image's size in pixels.
EXPORT("width")
int width(void) { return WIDTH; }

EXPORT("height")
int height(void) { return HEIGHT; }
