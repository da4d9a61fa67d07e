// filter.c — image filters over a band of rows with a halo: a map over the bands of an image
// gives the same image as one call over the whole of it. Images are u8 grey levels, row after
// row, width pixels a row. A WASI reactor built with wasi-libc for its malloc and free, which
// Rain uses to pass arrays; it imports nothing. Rebuild with scripts/build-examples.
//
// Both filters take the same band:
//
//   in   (above + rows + below) rows: `above` halo rows, the `rows` rows to filter, `below`
//        halo rows; the halo rows are read, never written
//   out  `rows` rows, the filtered band (out is last, where a map's out= array goes)
//
// A pixel's neighbours beyond the halo are those of the nearest row (and beyond the left and
// right edges, of the nearest column), as at an image's edges. So a band cut from rows
// [y0, y1) of an H-row image gives the whole image's rows when it carries
// above = min(r, y0) and below = min(r, H - y1) halo rows, r being the filter's radius: the
// first band has no rows above, the last none below, and one call with above = below = 0 is
// the whole image.
//
//   void blur(const unsigned char *in, int width, int rows, int above, int below, int radius,
//             unsigned char *out);
//   void sobel(const unsigned char *in, int width, int rows, int above, int below,
//              unsigned char *out);

#define EXPORT(name) __attribute__((export_name(name)))

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// at is the pixel at column x of band row y (y < 0 in the halo above, y ≥ rows below), with
// both clamped into the input: in points at the first halo row.
static int at(const unsigned char *in, int width, int rows, int above, int below, int x, int y) {
	y = clamp(y, -above, rows + below - 1);
	x = clamp(x, 0, width - 1);
	return in[(above + y) * width + x];
}

// blur is a box blur: each pixel becomes the mean of the (2·radius+1)² pixels around it,
// rounded to the nearest level. Its cost grows with radius²; the halo it needs is radius rows.
// A radius below 0 is 0 (a copy).
EXPORT("blur")
void blur(const unsigned char *in, int width, int rows, int above, int below, int radius,
          unsigned char *out) {
	if (width <= 0 || rows <= 0) return;
	if (radius < 0) radius = 0;
	int n = (2 * radius + 1) * (2 * radius + 1);
	for (int y = 0; y < rows; y++) {
		for (int x = 0; x < width; x++) {
			int sum = 0;
			for (int dy = -radius; dy <= radius; dy++) {
				for (int dx = -radius; dx <= radius; dx++) {
					sum += at(in, width, rows, above, below, x + dx, y + dy);
				}
			}
			out[y * width + x] = (unsigned char)((sum + n / 2) / n);
		}
	}
}

// sobel is the Sobel edge filter: each pixel becomes the length of the image's gradient there,
// √(gx² + gy²) over the 3×3 Sobel kernels, truncated and capped at 255. Its halo is one row.
EXPORT("sobel")
void sobel(const unsigned char *in, int width, int rows, int above, int below,
           unsigned char *out) {
	if (width <= 0 || rows <= 0) return;
	for (int y = 0; y < rows; y++) {
		for (int x = 0; x < width; x++) {
#define P(dx, dy) at(in, width, rows, above, below, x + (dx), y + (dy))
			int gx = (P(1, -1) + 2 * P(1, 0) + P(1, 1)) - (P(-1, -1) + 2 * P(-1, 0) + P(-1, 1));
			int gy = (P(-1, 1) + 2 * P(0, 1) + P(1, 1)) - (P(-1, -1) + 2 * P(0, -1) + P(1, -1));
#undef P
			int g = (int)__builtin_sqrt((double)(gx * gx + gy * gy));
			out[y * width + x] = (unsigned char)(g > 255 ? 255 : g);
		}
	}
}
