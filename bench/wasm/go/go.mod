module github.com/rain-wasm/rain/bench/wasm/go

go 1.24
