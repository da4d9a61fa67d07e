// Package procfs reads what Rain measures of a process from Linux's /proc: the benchmarks, and a
// node for its status.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSS is process pid's resident set in KiB, from /proc/PID/status; 0 if the process is gone
// (or there is no /proc).
func RSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kib
		}
	}
	return 0
}
