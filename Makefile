# Rain's two commands: `make demo` (the REPL with 2 local nodes and the examples loaded) and
# `make test` (installs what the tests need through apt-get when missing, then runs them all).

GO      ?= go
RAIN    := bin/rain
PKGS    := ./...

.PHONY: build demo test deps vet examples bench install release clean

build:
	$(GO) build -o $(RAIN) ./cmd/rain

demo: build
	./$(RAIN) examples/mandelbrot.wasm examples/basics.wasm

deps:
	scripts/install-deps

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

test: deps build vet
	$(GO) test -count=1 -timeout 20m $(PKGS)

examples:
	scripts/build-examples

# Benchmarks print rain's figures beside its peers' (ipykernel, ipyparallel, Dask), measured in
# the same run; each script installs its own peers through apt-get when missing.
bench: build
	RAIN=$(CURDIR)/$(RAIN) bench/kernel/run
	RAIN=$(CURDIR)/$(RAIN) bench/cluster/run

install: build
	./$(RAIN) install --user

clean:
	rm -rf bin
