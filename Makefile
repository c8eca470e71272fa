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

.PHONY: all build tools test lint bench demo clean images e2e-images dockerfiles concourse e2e

all: build tools

## build: the pack's binaries into bin/
build: out/go.mod
	$(GOBUILD) -o $(BIN)/cpi-ci ./cmd/cpi-ci
	$(GOBUILD) -o $(BIN)/bosh-release-resource ./resources/bosh-release
	$(GOBUILD) -o $(BIN)/light-stemcell-resource ./resources/light-stemcell
	$(GOBUILD) -o $(BIN)/director-env-resource ./resources/director-env

# out/ holds worker volumes with whole Go trees (the task image's /usr/local/go): a module of its
# own keeps it out of the pack's ./... patterns.
out/go.mod:
	mkdir -p out && printf 'module out\n' >$@

## tools: the real bosh CLI and fly into bin/ (one Go module each under tools/)
tools: $(BIN)/bosh $(BIN)/fly $(BIN)/ginkgo

$(BIN)/bosh: tools/bosh/go.mod tools/bosh/go.sum
	cd tools/bosh && $(GOBUILD) -ldflags "-s -w -X github.com/cloudfoundry/bosh-cli/v7/cmd.VersionLabel=$(BOSH_VERSION)" \
		-o $@ github.com/cloudfoundry/bosh-cli/v7

# ginkgo v1.16.5, the version the CPI's Makefile installs: the integration task's runner when the
# CPI does not vendor the ginkgo CLI (the task image ships it)
$(BIN)/ginkgo: tools/ginkgo/go.mod tools/ginkgo/go.sum
	cd tools/ginkgo && $(GOBUILD) -ldflags "-s -w" -o $@ github.com/onsi/ginkgo/ginkgo

$(BIN)/fly: tools/fly/go.mod tools/fly/go.sum
	cd tools/fly && $(GOBUILD) -ldflags "-s -w -X github.com/concourse/concourse.Version=$(FLY_VERSION)" \
		-o $@ github.com/concourse/concourse/fly

## lint: formatting of every Go file, then golangci-lint (.golangci.yml) over the pack's module, e2e tests included
lint: $(BIN)/golangci-lint
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(BIN)/golangci-lint run --build-tags e2e ./...

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

## demo: the pack's pipelines end to end on the local Concourse (Linux, root): the emulator, the
## pack's images and their demo variants, the external inputs as git repositories; every job must
## succeed. DEMO_FLAGS adds cpi-ci demo flags (--pipeline NAME=FILE, --resource-types DIR).
## Transcript in out/demo/demo-transcript.txt (the demo stops its Concourse; the down after it
## covers a demo killed before it could)
DEMO_FLAGS ?=
demo: build
	$(BIN)/cpi-ci concourse preflight
	$(MAKE) tools images e2e-images concourse
	status=0; PATH="$(BIN):$$PATH" $(BIN)/cpi-ci demo --work-dir $(CURDIR)/out/demo $(DEMO_FLAGS) || status=$$?; \
	$(BIN)/cpi-ci concourse down --work-dir $(CURDIR)/out/demo/concourse >/dev/null 2>&1 || true; \
	exit $$status

## dockerfiles: render images/*/Dockerfile from images/*/image.yaml (a test fails when one is stale)
dockerfiles:
	$(GO) run ./cmd/cpi-ci images dockerfiles images/*/image.yaml

## images: the hermetic images (OCI archives and base-type dirs) into out/images, on a Debian
## minbase made with debootstrap (cached under $$HOME/.cache/concourse-pack); needs root. The task
## image takes Go (/usr/local/go) and terraform from this machine, and the alicloud provider's zip
## when given: make images ALICLOUD_PROVIDER_ZIP=.../terraform-provider-alicloud_<v>_linux_amd64.zip
ALICLOUD_PROVIDER_ZIP ?=
images: build tools
	$(BIN)/cpi-ci images build --out $(CURDIR)/out/images \
		$(if $(ALICLOUD_PROVIDER_ZIP),--input alicloud-provider=$(ALICLOUD_PROVIDER_ZIP)) images/*/image.yaml

## concourse: concourse 7.14.2, its init and fly, built from tools/concourse and tools/fly into
## $$HOME/.cache/concourse-pack (keyed by their go.mod, go.sum and the Go version)
concourse: build
	$(BIN)/cpi-ci concourse build

## e2e: the tests behind the e2e build tag: start the real local Concourse (Linux, root), set a
## pipeline of the pack's types from its registry, fly execute a task, then stop it and check the
## host is as it was. Transcript in out/e2e-transcript.txt
## (the test stops its Concourse; the down after it covers a test killed by its timeout)
e2e: build
	$(BIN)/cpi-ci concourse preflight
	$(MAKE) tools images e2e-images concourse
	status=0; PATH="$(BIN):$$PATH" $(GO) test -tags e2e -count=1 -timeout 20m -v ./images ./lib/localconcourse || status=$$?; \
	$(BIN)/cpi-ci concourse down --work-dir $(CURDIR)/out/e2e-concourse >/dev/null 2>&1 || true; \
	exit $$status

## e2e-images: the test-only image variants (the director-env resource with the bosh test double;
## the task image with a layer of director and BATs doubles)
e2e-images: build tools
	$(GOBUILD) -o $(BIN)/e2e/boshdouble ./internal/boshdouble
	$(GOBUILD) -o $(BIN)/e2e/directordouble ./internal/directordouble
	$(BIN)/cpi-ci images build --out $(CURDIR)/out/images images/director-env-resource-e2e/e2e.yaml images/task-demo/demo.yaml

clean:
	rm -rf $(BIN) out
