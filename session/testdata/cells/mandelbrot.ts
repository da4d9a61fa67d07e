// The Mandelbrot set, one row at a time, as examples/mandelbrot.c computes it.
const WIDTH = 1024, HEIGHT = 1024, MAXITER = 256;

// escape is the number of iterations before z = z² + c leaves the disc of radius 2, or maxiter.
export function escape(cr: f64, ci: f64, maxiter: i32): i32 {
  let zr = 0.0, zi = 0.0, i = 0;
  while (i < maxiter && zr * zr + zi * zi <= 4.0) {
    const t = zr * zr - zi * zi + cr;
    zi = 2 * zr * zi + ci;
    zr = t;
    i++;
  }
  return i;
}

// row is the sum of the escape counts of row y.
export function row(y: i32): i32 {
  const ci = -1.5 + 3.0 * <f64>y / HEIGHT;
  let sum = 0;
  for (let x = 0; x < WIDTH; x++) sum += escape(-2.0 + 3.0 * <f64>x / WIDTH, ci, MAXITER);
  return sum;
}

// shade is the grey level of a point that took i iterations.
function shade(i: i32): u8 {
  if (i <= 0 || i >= MAXITER) return 0;
  const k = 31 - clz(i);
  return <u8>(32 * k + ((32 * (i - (1 << k))) >> k));
}

// row_pixels writes the grey levels of row y into out[0..WIDTH).
export function row_pixels(y: i32, out: usize): void {
  const ci = -1.5 + 3.0 * <f64>y / HEIGHT;
  for (let x = 0; x < WIDTH; x++) store<u8>(out + x, shade(escape(-2.0 + 3.0 * <f64>x / WIDTH, ci, MAXITER)));
}

// malloc and free: Rain copies arrays into memory they allocate.
export function malloc(n: usize): usize { return heap.alloc(n); }
export function free(p: usize): void { heap.free(p); }
