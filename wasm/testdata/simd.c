// simd.c: clang output with SIMD, bulk memory, saturating truncation, sign extension and
// indirect calls, for the instruction walk. Rebuild wasm/testdata/simd.wasm with
//   clang --target=wasm32 -O3 -msimd128 -mbulk-memory -mnontrapping-fptoint -msign-ext \
//     -nostdlib -Wl,--no-entry -Wl,--export-all -o simd.wasm simd.c
#include <stdint.h>
void saxpy(float *restrict y, const float *restrict x, float a, int n) { for (int i = 0; i < n; i++) y[i] += a * x[i]; }
int64_t sum8(const int8_t *p, int n) { int64_t s = 0; for (int i = 0; i < n; i++) s += p[i]; return s; }
void cp(char *d, const char *s, int n) { __builtin_memcpy(d, s, n); }
void fill(char *d, int n) { __builtin_memset(d, 7, n); }
int sat(float f) { return (int)f; }
typedef int (*fn)(int);
int twice(int x) { return 2*x; }
int apply(fn f, int x) { return f(x); }
fn pick(int i) { return i ? twice : 0; }
