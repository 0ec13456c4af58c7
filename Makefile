# Every target works on a fresh machine: what a target needs, it installs itself.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MODULES := platform services/concerts services/projections services/notifications tools
TOOLS_DIR := $(CURDIR)/.tools
export GOFLAGS := -buildvcs=false

.PHONY: dev test schemas build synth bench check-format vet gowork-off tidy-check schemas-check go-test

dev: ## run the whole system locally (devstack)
	go run ./tools/devstack $(ARGS)

test: check-format vet gowork-off schemas-check go-test tidy-check ## every check CI runs

check-format:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@for m in $(MODULES); do echo "go vet $$m"; (cd $$m && go vet ./...); done

gowork-off:
	@for m in $(MODULES); do echo "GOWORK=off go build $$m"; (cd $$m && GOWORK=off go build ./... && GOWORK=off go vet ./...); done

schemas:
	go run ./tools/schemagen -out schemas

schemas-check:
	@tmp=$$(mktemp -d); go run ./tools/schemagen -out $$tmp; \
	if ! diff -r schemas $$tmp >/dev/null; then echo "schemas/ is stale: run make schemas"; diff -r schemas $$tmp | head -40; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

go-test:
	@for m in $(MODULES); do echo "go test $$m"; (cd $$m && go test -count=1 ./...); done

tidy-check:
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy); done
	@go work sync
	@if [ -n "$$(git status --porcelain)" ]; then echo "go mod tidy / make test left changes:"; git status --porcelain; exit 1; fi

build: ## one bootstrap zip per Lambda under dist/<service>/<function>.zip
	go run ./tools/lambdabuild -root . -out dist

synth:
	@echo "synth: not yet"; exit 1

bench:
	@echo "bench: not yet"; exit 1
