# concourse-pack: every entry point a developer or CI needs. Nothing here downloads anything but
# Go modules: the real bosh CLI, fly and golangci-lint are built from the module proxy by the
# modules in tools/.

SHELL := /usr/bin/env bash -euo pipefail
GO    ?= go
BIN   := $(CURDIR)/bin
export CGO_ENABLED := 0

# The flags the resource images use too, so tests and images run the same binaries.
GOBUILD := $(GO) build -trimpath

BOSH_VERSION := 7.9.12
FLY_VERSION  := 7.14.2
GOLANGCI_LINT_VERSION := 2.15.0
GOLANGCI_LINT_DATE    := 2026-10-16T10:51:54Z

.PHONY: all build tools test lint bench demo clean

all: build tools

## build: the pack's binaries into bin/
build:
	$(GOBUILD) -o $(BIN)/cpi-ci ./cmd/cpi-ci
	$(GOBUILD) -o $(BIN)/bosh-release-resource ./resources/bosh-release
	$(GOBUILD) -o $(BIN)/light-stemcell-resource ./resources/light-stemcell

## tools: the real bosh CLI and fly into bin/ (one Go module each under tools/)
tools: $(BIN)/bosh $(BIN)/fly

$(BIN)/bosh: tools/bosh/go.mod tools/bosh/go.sum
	cd tools/bosh && $(GOBUILD) -ldflags "-s -w -X github.com/cloudfoundry/bosh-cli/v7/cmd.VersionLabel=$(BOSH_VERSION)" \
		-o $@ github.com/cloudfoundry/bosh-cli/v7

$(BIN)/fly: tools/fly/go.mod tools/fly/go.sum
	cd tools/fly && $(GOBUILD) -ldflags "-s -w -X github.com/concourse/concourse.Version=$(FLY_VERSION)" \
		-o $@ github.com/concourse/concourse/fly

## lint: formatting of every Go file, then golangci-lint (.golangci.yml) over the pack's module
lint: $(BIN)/golangci-lint
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(BIN)/golangci-lint run ./...

# Built once: make rebuilds it only when the tools module changes (a cold build takes minutes).
$(BIN)/golangci-lint: tools/golangci-lint/go.mod tools/golangci-lint/go.sum
	cd tools/golangci-lint && $(GOBUILD) -ldflags "-s -w -X main.version=$(GOLANGCI_LINT_VERSION) \
		-X main.commit=v$(GOLANGCI_LINT_VERSION) -X main.date=$(GOLANGCI_LINT_DATE)" \
		-o $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

## test: everything a change must pass (what .ci/run runs), with the race detector: the
## transfers and the builder are concurrent
test: lint build tools
	PATH="$(BIN):$$PATH" CGO_ENABLED=1 $(GO) test -race -count=1 ./...

## bench: the benchmarks behind docs/benchmarks.md
bench: build tools
	PATH="$(BIN):$$PATH" $(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

## demo: the main job end to end on one machine
demo: build tools
	PATH="$(BIN):$$PATH" $(BIN)/cpi-ci demo --work-dir $(CURDIR)/out/demo

clean:
	rm -rf $(BIN) out
