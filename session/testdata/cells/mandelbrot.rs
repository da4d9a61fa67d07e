// The Mandelbrot set, one row at a time, as examples/mandelbrot.c computes it.
use std::alloc::{alloc, dealloc, Layout};

const WIDTH: usize = 1024;
const HEIGHT: i32 = 1024;
const MAXITER: i32 = 256;

/// The number of iterations before z = z² + c leaves the disc of radius 2, or maxiter.
#[no_mangle]
pub extern "C" fn escape(cr: f64, ci: f64, maxiter: i32) -> i32 {
    let (mut zr, mut zi, mut i) = (0.0, 0.0, 0);
    while i < maxiter && zr * zr + zi * zi <= 4.0 {
        let t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
        i += 1;
    }
    i
}

/// The sum of the escape counts of row y.
#[no_mangle]
pub extern "C" fn row(y: i32) -> i32 {
    let ci = -1.5 + 3.0 * y as f64 / HEIGHT as f64;
    (0..WIDTH).map(|x| escape(-2.0 + 3.0 * x as f64 / WIDTH as f64, ci, MAXITER)).sum()
}

/// The grey level of a point that took i iterations.
fn shade(i: i32) -> u8 {
    if i <= 0 || i >= MAXITER {
        return 0;
    }
    let k = 31 - i.leading_zeros() as i32;
    (32 * k + ((32 * (i - (1 << k))) >> k)) as u8
}

/// Writes the grey levels of row y into out[0..WIDTH].
#[no_mangle]
pub unsafe extern "C" fn row_pixels(y: i32, out: *mut u8) {
    let out = std::slice::from_raw_parts_mut(out, WIDTH);
    let ci = -1.5 + 3.0 * y as f64 / HEIGHT as f64;
    for (x, px) in out.iter_mut().enumerate() {
        *px = shade(escape(-2.0 + 3.0 * x as f64 / WIDTH as f64, ci, MAXITER));
    }
}

// malloc and free: Rain copies arrays into memory they allocate.
#[no_mangle] pub unsafe extern "C" fn malloc(n: usize) -> *mut u8 { let p = alloc(Layout::from_size_align_unchecked(n + 8, 8)); *(p as *mut usize) = n; p.add(8) }
#[no_mangle] pub unsafe extern "C" fn free(p: *mut u8) { let p = p.sub(8); dealloc(p, Layout::from_size_align_unchecked(*(p as *mut usize) + 8, 8)) }
