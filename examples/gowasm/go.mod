module github.com/rain-wasm/rain/examples/gowasm

go 1.26
