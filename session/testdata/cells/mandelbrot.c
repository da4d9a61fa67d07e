// The Mandelbrot set, one row at a time: examples/mandelbrot.c, as a %%c cell (no libc).
#define WIDTH 1024
#define HEIGHT 1024
#define MAXITER 256

// escape is the number of iterations before z = z² + c leaves the disc of radius 2, or maxiter.
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

// row is the sum of the escape counts of row y.
int row(int y) {
	double ci = -1.5 + 3.0 * y / HEIGHT;
	int sum = 0;
	for (int x = 0; x < WIDTH; x++) sum += escape(-2.0 + 3.0 * x / WIDTH, ci, MAXITER);
	return sum;
}

// shade is the grey level of a point that took i iterations.
static unsigned char shade(int i) {
	if (i <= 0 || i >= MAXITER) return 0;
	int k = 31 - __builtin_clz(i);
	return (unsigned char)(32 * k + (32 * (i - (1 << k)) >> k));
}

// row_pixels writes the grey levels of row y into out[0..WIDTH).
void row_pixels(int y, unsigned char *out) {
	double ci = -1.5 + 3.0 * y / HEIGHT;
	for (int x = 0; x < WIDTH; x++) out[x] = shade(escape(-2.0 + 3.0 * x / WIDTH, ci, MAXITER));
}

// malloc and free: Rain copies arrays into memory they allocate.
extern unsigned char __heap_base;
static unsigned char *top = &__heap_base;
void *malloc(unsigned long n) { unsigned char *p = top; top += (n + 15) & ~15UL; unsigned long need = (unsigned long)top, have = __builtin_wasm_memory_size(0) << 16; if (need > have) __builtin_wasm_memory_grow(0, (need - have + 65535) >> 16); return p; }
void free(void *p) { if ((unsigned char *)p < top) top = p; }
