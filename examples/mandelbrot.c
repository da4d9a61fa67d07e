// mandelbrot.c — the Mandelbrot set, one row at a time: a compute-bound example whose unit
// of work (a row) costs about a millisecond. No libc: built with clang --target=wasm32 -nostdlib.
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
