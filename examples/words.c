// words.c — counting the words of a text given as UTF-8 bytes. A word is a run of bytes other
// than ASCII white space (space, \t, \n, \v, \f, \r), as Go's strings.Fields and Python's
// str.split() cut an ASCII text. The counts of the parts of a text add up when it is cut at
// white space (a word cut in two counts twice). A WASI reactor built with wasi-libc for its
// malloc and free, which Rain uses to pass arrays; it imports nothing.
// Rebuild with scripts/build-examples.
//
//   int count(const unsigned char *text, int n);
//   void lengths(const unsigned char *text, int n, int nlen, int *counts);

#define EXPORT(name) __attribute__((export_name(name)))

static int space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// count is the number of words in text[0..n).
EXPORT("count")
int count(const unsigned char *text, int n) {
	int words = 0;
	for (int i = 0; i < n; i++) {
		if (!space(text[i]) && (i == 0 || space(text[i - 1]))) words++;
	}
	return words;
}

// lengths counts the words of text[0..n) by their length in characters (UTF-8 code points; a
// word's first byte always starts one, so the counts add up to count(text, n)): counts[k] is
// the number of words k characters long for 0 < k < nlen - 1, and counts[nlen-1] the number
// nlen - 1 or more characters long; counts[0] is 0 when nlen > 1. counts is written, not added
// to; nothing is written when nlen ≤ 0.
EXPORT("lengths")
void lengths(const unsigned char *text, int n, int nlen, int *counts) {
	if (nlen <= 0) return;
	for (int k = 0; k < nlen; k++) {
		counts[k] = 0;
	}
	int len = 0; // characters of the word being read
	for (int i = 0; i <= n; i++) {
		if (i == n || space(text[i])) {
			if (len > 0) counts[len < nlen - 1 ? len : nlen - 1]++;
			len = 0;
		} else if (len == 0 || (text[i] & 0xC0) != 0x80) { // not a UTF-8 continuation byte
			len++;
		}
	}
}
