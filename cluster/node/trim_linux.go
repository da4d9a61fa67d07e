package node

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// trimImage lets go of the pages of this executable's read-only mappings (code, read-only data,
// the function table) that starting the process touched: every rain process runs every
// package's initialisation, and the kernel maps the binary in 64 KiB runs around each page
// used, so a node process otherwise keeps about 12 MiB of a binary it mostly never runs again.
// The pages stay in the page cache (shared with every other rain process); a page needed later
// is mapped again on its first use. Writable mappings are left alone.
func trimImage() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	type span struct{ lo, hi uintptr }
	var spans []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00f75000 r-xp 00000000 fe:00 10142065   /path/to/exe
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && h > l {
			spans = append(spans, span{uintptr(l), uintptr(h)})
		}
	}
	for _, s := range spans {
		syscall.Syscall(syscall.SYS_MADVISE, s.lo, s.hi-s.lo, syscall.MADV_DONTNEED)
	}
}
