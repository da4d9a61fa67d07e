// hello.c — a WASI reactor built with wasi-libc: output to stdout and stderr, and a file read
// from a directory the runtime may grant. Built with clang --target=wasm32-wasi
// -mexec-model=reactor; the runtime calls _initialize once, then any export.
// Rebuild with scripts/build-examples.

#include <stdio.h>
#include <string.h>
#include <errno.h>

#define EXPORT(name) __attribute__((export_name(name)))

// greet prints n numbered lines to stdout and one line to stderr, and returns n.
EXPORT("greet")
int greet(int n) {
	for (int i = 1; i <= n; i++) {
		printf("hello %d from wasm\n", i);
	}
	fflush(stdout);
	fprintf(stderr, "greeted %d times\n", n);
	return n;
}

// read_file prints the contents of /data/hello.txt, or why it could not be read to stderr.
// It returns 0 on success and -1 on failure.
EXPORT("read_file")
int read_file(void) {
	FILE *f = fopen("/data/hello.txt", "r");
	if (f == NULL) {
		fprintf(stderr, "/data/hello.txt: %s\n", strerror(errno));
		return -1;
	}
	char buf[512];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		fwrite(buf, 1, n, stdout);
	}
	fclose(f);
	fflush(stdout);
	return 0;
}
