package wasm

import "runtime"

func compilerSupported() bool {
	switch runtime.GOARCH {
	case "amd64", "arm64":
		return runtime.GOOS == "linux" || runtime.GOOS == "darwin" || runtime.GOOS == "freebsd" || runtime.GOOS == "windows"
	}
	return false
}
