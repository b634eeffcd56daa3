# linx — developer entry points. `make help` lists them.
SHELL := /bin/bash
GO ?= go
PKGS := ./...
REVISION := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
ONOS_CONSTANTS := onos-app/src/main/java/org/linx/onos/LinxConstants.java
GENERATED := dataplane/xdp/linx_bpfel.go dataplane/xdp/linx_bpfel.o dataplane/dropreason_gen.go p4info/p4info.txt \
	onos-app/src/main/resources/p4info.txt $(ONOS_CONSTANTS) \
	bench/fwd/fwd_bpfel.go bench/fwd/fwd_bpfel.o bench/fwd/minimal_bpfel.go bench/fwd/minimal_bpfel.o internal/impair/impair_bpfel.go internal/impair/impair_bpfel.o

.PHONY: help generate build test test-kernels check bench bench-micro demo lab clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

generate: ## regenerate committed code (BPF objects and bindings, p4info.txt, the ONOS app's copy and constants)
	$(GO) generate ./dataplane/... ./p4info ./bench/fwd ./internal/impair
	@# The ONOS app ships the committed P4Info verbatim and names it through generated constants.
	cmp -s p4info/p4info.txt onos-app/src/main/resources/p4info.txt || cp p4info/p4info.txt onos-app/src/main/resources/p4info.txt
	$(GO) run ./onos-app/constgen -p4info p4info/p4info.txt -o $(ONOS_CONSTANTS)

build: ## build every binary into bin/
	@# The binaries carry the revision they were built from (linx-agent -version): Go stamps it
	@# where .git is a directory (-buildvcs=auto), the -X where it is not (a git worktree).
	$(GO) build -buildvcs=auto -ldflags "-X main.revision=$(REVISION)" -o bin/ ./cmd/...

test: ## run every test (privileged tests need root; LINX_REQUIRE_PRIV=1 makes them fail instead of skip)
	$(GO) test -count=1 -timeout 30m $(PKGS)
	@# integration/p4rtclient is its own module (a third-party P4Runtime client that needs older protos)
	cd integration/p4rtclient && $(GO) test -count=1 -timeout 10m ./...

test-kernels: ## boot the data-path tests on Debian's 6.1 and 6.12 kernels in qemu (root; .ci/kernel-matrix)
	.ci/kernel-matrix

check: ## vet, gofmt, cross-build the operator CLI, and prove generated code is fresh
	$(GO) vet $(PKGS)
	@# linxctl runs on an operator's laptop: nothing it imports may need Linux.
	GOOS=darwin $(GO) build -o /dev/null ./cmd/linxctl
	GOOS=windows $(GO) build -o /dev/null ./cmd/linxctl
	cd integration/p4rtclient && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(MAKE) generate
	@git diff --exit-code --stat -- $(GENERATED) || { echo "generated files are stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- dataplane/ p4info/ onos-app/src/main/ bench/ internal/impair/ | grep '^??')" || { echo "generate left untracked files"; exit 1; }

bench: ## the paper's evaluation with baselines side by side (root; <= 15 min, BENCH_QUICK=1 <= 2 min): bench/results/latest.json, docs/benchmarks.md, docs/img/*.svg
	$(GO) build -o bin/linx-bench ./cmd/linx-bench
	./bin/linx-bench

bench-micro: ## data-path, classifier and P4Runtime micro-benchmarks, and the live-forwarding benchmark of issue 10 (root)
	$(GO) test -run '^$$' -bench . -count 5 ./dataplane/... ./server/
	$(GO) test -run '^$$' -bench 'Forward$$' -benchtime 1x -v ./bench/fwd/ -fwd.rounds 9

demo: ## the two-site SD-WAN demo (root)
	$(GO) run ./cmd/linx-demo

lab: ## the in-process two-site data-path lab in network namespaces (root)
	$(GO) run ./cmd/linx-lab

clean:
	rm -rf bin/
