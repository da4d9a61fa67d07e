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
# the same run; each script installs its own peers through apt-get when missing. bench/link
# needs root (network namespaces, tc): it uses sudo -n when not root, and is skipped without;
# bench/launch needs root too (a one-machine Slurm cluster), and says it is skipped without.
bench: build
	RAIN=$(CURDIR)/$(RAIN) bench/kernel/run
	RAIN=$(CURDIR)/$(RAIN) bench/cluster/run
	RAIN=$(CURDIR)/$(RAIN) bench/data/run
	$(GO) run ./bench/grain -reps 3
	bench/wasm/run -reps 3
	$(GO) test ./session -run '^$$' -bench CellBuild -benchtime 5x
	RAIN=$(CURDIR)/$(RAIN) bench/load/run -reps 3
	RAIN=$(CURDIR)/$(RAIN) bench/link/run -reps 5
	RAIN=$(CURDIR)/$(RAIN) bench/launch/run -reps 3

install: build
	./$(RAIN) install --user

# Cross-built binaries of rain (pure Go: no C toolchain needed) in bin/release/rain-OS-ARCH.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 darwin/arm64

release:
	@mkdir -p bin/release
	@for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "rain → bin/release/rain-$$os-$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -o bin/release/rain-$$os-$$arch ./cmd/rain || exit 1; \
	done

clean:
	rm -rf bin
