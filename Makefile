# Every target works on a fresh machine: what a target needs, it installs itself
# (Go modules through the module proxy, Python tools into .tools/venv, Chromium from
# Debian's packages when running as root).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Runtime modules (what Lambdas link), deploy-only CDK modules, and the developer tools
# (devstack and its emulators in tools/local).
# Services are discovered: every services/<name>/go.mod (tools/newservice adds one).
SERVICES := $(patsubst services/%/go.mod,%,$(wildcard services/*/go.mod))
MODULES := platform $(addprefix services/,$(SERVICES)) \
	platform/infra $(patsubst %/go.mod,%,$(wildcard services/*/infra/go.mod)) \
	tools/local tools
# What no deployed function may link: embedded stores, emulators, CDK, test kits. The
# services' embedded packages are named by path: OpenTelemetry's API has packages named
# embedded too (interface defaults, no storage), which every traced function links. The
# project's OTLP exporters link gRPC and would double every function: functions export
# with platform/tracing/lambdatrace.
NOT_DEPLOYED := google\.golang\.org/grpc|otlptrace/otlptrace(http|grpc)|go\.etcd\.io/bbolt|aws-cdk-go|jsii-runtime-go|cdk-nag|concertsys/tools|concertsys/platform/infra|concertsys/platform/testkit|concertsys/services/[^/]+/embedded$$|coder/websocket|golang-jwt|minidyn|stretchr/testify
VENV := $(CURDIR)/.tools/venv
MOTO_VERSION := 5.2.5
CFN_LINT_VERSION := 1.58.0
CHECKOV_VERSION := 3.3.30
ASYNCAPI_CLI_VERSION := 6.2.0
ASYNCAPI := $(CURDIR)/.tools/node_modules/.bin/asyncapi
export GOFLAGS := -buildvcs=false
export MOTO_SERVER := $(VENV)/bin/moto_server
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# Node.js 20 (the machine's) still synthesizes; jsii only warns that it is end-of-life.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20

.PHONY: dev test schemas build synth deploy redrive bench tools browser check-format vet gowork-off \
	tidy-check schemas-check go-test cfn-lint checkov deps-check conformance-ruler \
	schemas-compat release-schemas asyncapi-validate asyncapi-cli catch-up converge

dev: ## run the whole system locally: http://127.0.0.1:8080
	go run ./tools/devstack $(ARGS)

SEEDS ?= 1,2,3
WRITES ?= 2000
CONCERTS ?= 50
converge: ## the convergence proof under -faults: make converge SEEDS=4,5 WRITES=5000 CONCERTS=80
	cd tools && CONVERGE_SEEDS=$(SEEDS) CONVERGE_WRITES=$(WRITES) CONVERGE_CONCERTS=$(CONCERTS) \
	  go test -count=1 -run TestConvergenceUnderFaults -v ./devstack/internal/stack/ | grep -E 'converged|FAIL|ok|Error|want'

test: tools browser check-format gowork-off deps-check schemas-check schemas-compat asyncapi-validate go-test cfn-lint checkov tidy-check ## every check CI runs (gowork-off vets)
	@echo "make test: all checks passed"

# The stamp names the versions, so a venv made before a tool was added or bumped is
# brought up to date.
VENV_STAMP := $(VENV)/.installed-moto$(MOTO_VERSION)-cfnlint$(CFN_LINT_VERSION)-checkov$(CHECKOV_VERSION)

tools: $(VENV_STAMP) ## Python tools the tests use, in a virtualenv

$(VENV_STAMP):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check "moto[server]==$(MOTO_VERSION)" "cfn-lint==$(CFN_LINT_VERSION)" \
	  "checkov==$(CHECKOV_VERSION)"
	touch $@

browser: ## Chromium for the live board's browser test (Debian's package)
	@if command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	else echo "WARNING: chromium missing and not root: the browser test will skip (fails under CI)"; fi

check-format:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@for m in $(MODULES); do echo "go vet $$m"; (cd $$m && go vet ./...); done

gowork-off: ## each module builds and vets on its own, as it deploys
	@for m in $(MODULES); do echo "GOWORK=off go build+vet $$m"; (cd $$m && GOWORK=off go build ./... && GOWORK=off go vet ./...); done

deps-check: ## every deployed function links only what it runs; no service module needs the CDK
	@fail=0; for s in $(SERVICES); do \
	  for c in services/$$s/cmd/*/; do \
	    bad=$$(cd services/$$s && GOWORK=off go list -deps ./cmd/$$(basename $$c) | grep -E '$(NOT_DEPLOYED)' || true); \
	    if [ -n "$$bad" ]; then echo "services/$$s/cmd/$$(basename $$c) links what it does not run:"; echo "$$bad" | sed 's/^/  /'; fail=1; fi; \
	  done; \
	  cdk=$$(cd services/$$s && GOWORK=off go list -m all | grep -E 'aws-cdk-go|jsii-runtime-go' || true); \
	  if [ -n "$$cdk" ]; then echo "services/$$s (runtime module) requires the CDK:"; echo "$$cdk" | sed 's/^/  /'; fail=1; fi; \
	done; \
	[ $$fail = 0 ] && echo "deployed functions link only what they run"

schemas: ## regenerate schemas/ (JSON Schemas and asyncapi.json) from the Go event types and subscriptions
	go run ./tools/schemagen -out schemas

schemas-check: ## schemas/ is what make schemas writes (released.lock.json is written only by release-schemas)
	@tmp=$$(mktemp -d); go run ./tools/schemagen -out $$tmp; \
	if ! diff -r -x released.lock.json schemas $$tmp >/dev/null; then echo "schemas/ is stale: run make schemas"; diff -r -x released.lock.json schemas $$tmp | head -40; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp; echo "schemas/ up to date"

schemas-compat: ## compatibility gate: schemas/ against schemas/released.lock.json, and every consumer's Reads()
	@go run ./tools/schemagen -check schemas && echo "schemas/ compatible with their released versions; consumer contracts hold"

release-schemas: ## record schemas/ as released (refuses incompatible changes); RETIRE="concerts/X.v1.json ..." drops retired versions
	go run ./tools/schemagen -release schemas $(foreach r,$(RETIRE),-retire $(r))

asyncapi-cli: $(ASYNCAPI)

$(ASYNCAPI): Makefile
	npm install --prefix .tools --no-audit --no-fund --loglevel error @asyncapi/cli@$(ASYNCAPI_CLI_VERSION)
	@printf '{"analyticsEnabled":"false","infoMessageShown":"true","userID":"make"}' > .tools/asyncapi-analytics.json
	touch $@

asyncapi-validate: $(ASYNCAPI) ## validate schemas/asyncapi.json with the AsyncAPI CLI
	ASYNCAPI_METRICS_CONFIG_PATH=$(CURDIR)/.tools/asyncapi-analytics.json SUPPRESS_NO_CONFIG_WARNING=1 \
	  $(ASYNCAPI) validate schemas/asyncapi.json --fail-severity error

go-test: tools
	@for m in $(MODULES); do echo "GOWORK=off go test $$m"; (cd $$m && GOWORK=off go test -count=1 -timeout 15m ./...); done

tidy-check: ## go mod tidy changes nothing
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy); done
	@if [ -n "$$(git status --porcelain)" ]; then echo "go mod tidy or the tests left changes in the tree:"; git status --porcelain; git diff | head -40 || true; exit 1; fi

build: ## one bootstrap zip per Lambda under dist/<service>/<function>.zip
	go run ./tools/lambdabuild -root . -out dist

STAGE ?= dev
CDK := npx --yes aws-cdk@2

synth: build ## synthesize every CDK stack into cdk.out/ (offline, no AWS credentials)
	go run ./tools/cdkapp -out cdk.out -assets dist -stage $(STAGE)

cfn-lint: tools synth ## lint every template; W3005 is the redundant DependsOn the CDK itself emits
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json

# A second, independent scanner over the same templates. Every accepted finding is
# skipped on its resource in the template (Metadata checkov.skip, with the reason),
# written by the CDK code next to the resource; no check is skipped globally.
checkov: tools synth ## checkov over every synthesized template: no failed check
	$(VENV)/bin/checkov --quiet --compact --framework cloudformation --skip-download \
	  $$(for f in cdk.out/*.template.json; do printf -- '-f %s ' "$$f"; done)

deploy: build ## deploy one stack: make deploy SERVICE=platform|<a service in services/> [STAGE=dev]
	@case "$(SERVICE)" in platform) s=PlatformStack;; concerts) s=ConcertsStack;; projections) s=ProjectionsStack;; \
	  notifications) s=NotificationsStack;; \
	  *) if [ -n "$(SERVICE)" ] && [ -f services/$(SERVICE)/newservice.json ]; then s=$$(echo $(SERVICE) | sed 's/^./\u&/')Stack; \
	     else echo "usage: make deploy SERVICE=platform|$(subst $(eval) ,|,$(SERVICES))"; exit 1; fi;; esac; \
	$(CDK) deploy $$s -c stage=$(STAGE) $(CDK_ARGS)

catch-up: ## after the first deploy of a service made with tools/newservice: replay the archive to it, until COMPLETED (make catch-up SERVICE=sales)
	@[ -f services/$(SERVICE)/newservice.json ] || { echo "usage: make catch-up SERVICE=<a service made with tools/newservice>"; exit 1; }; \
	fn=$$(aws lambda list-functions --query "Functions[?Description=='$(SERVICE) catch-up-$(SERVICE)'].FunctionName | [0]" --output text); \
	[ -n "$$fn" ] && [ "$$fn" != None ] || { echo "no function catch-up-$(SERVICE): deploy it first (make deploy SERVICE=$(SERVICE))"; exit 1; }; \
	for i in $$(seq 1 120); do \
	  aws lambda invoke --function-name "$$fn" --payload '{}' --cli-binary-format raw-in-base64-out /tmp/catch-up-$(SERVICE).json >/dev/null; \
	  cat /tmp/catch-up-$(SERVICE).json; echo; \
	  grep -q '"COMPLETED"' /tmp/catch-up-$(SERVICE).json && exit 0; sleep 30; \
	done; echo "the catch-up replay has not completed after an hour: aws events describe-replay"; exit 1

redrive: ## move a service's dead letters on AWS back to their queues: make redrive SERVICE=projections [STAGE=dev] [ARGS=-dry-run]
	@test -n "$(SERVICE)" || { echo "usage: make redrive SERVICE=concerts|projections|notifications [STAGE=dev]"; exit 1; }
	cd tools && go run ./redrive -service $(SERVICE) -stage $(STAGE) $(ARGS)

# The Lambda Runtime Interface Emulator for tools/initbench (init durations); the newest
# version the module proxy serves.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d

bench: tools ## benchmarks and the end-to-end load tests; every figure in bench-results/, the design's keys in bench-results/summary.json
	@mkdir -p bench-results
	go build -o .tools/devstack ./tools/devstack
	go run ./tools/loadgen -ceiling -duration 10s -concurrency 16 -out bench-results/ceiling.json
	go run ./tools/loadgen -devstack .tools/devstack -duration 15s -concurrency 16 -rate 200 -out bench-results/loadgen-rate200.json
	go run ./tools/loadgen -devstack .tools/devstack -duration 10s -concurrency 16 -out bench-results/loadgen-max.json
	d=$$(mktemp -d) && go run ./tools/loadgen -devstack .tools/devstack -data $$d -duration 10s -concurrency 16 \
	  -cpuprofile bench-results/durable-cpu.pprof -out bench-results/loadgen-max-durable.json; s=$$?; rm -rf $$d; exit $$s
	@w=$$(sed -n 's/^  "acked": \([0-9]*\),/\1/p' bench-results/loadgen-max-durable.json); \
	  echo "top stages of devstack by CPU per acknowledged write ($$w writes, durable run; cumulative):"; \
	  go tool pprof -top -cum -nodecount=300 -divide_by=$$w .tools/devstack bench-results/durable-cpu.pprof 2>/dev/null | \
	  awk '/Total samples/ || (/github.com\/concertsys\// && n++ < 25)' | tee bench-results/durable-cpu-top.txt
	cd tools/local && go test -run '^$$' -bench . -benchtime 1s ./eventpattern/ ./bus/ ./pipe/ ./boltlog/ | tee ../../bench-results/local.txt
	@echo "the AWS API round trips every write makes, CPU per call (cpu-ns/op; client and server together):"
	cd tools/local && go test -run '^$$' -bench 'Request|PutEventsSDK/memory|PostToConnection/256B' -benchtime 1s \
	  ./httpgateway/ ./bus/eventsapi/ ./wsgateway/ | tee ../../bench-results/hops.txt
	cd services/concerts && go test -run '^$$' -bench . -benchtime 1s ./internal/ports/ | tee ../../bench-results/concerts.txt
	cd services/concerts && go test -run '^$$' -bench ColdCommand -benchtime 200x . | tee ../../bench-results/concerts-cold.txt
	cd services/projections && go test -run '^$$' -bench . -benchtime 1s ./internal/app/ | tee ../../bench-results/projections.txt
	cd services/notifications && go test -run '^$$' -bench FanOut10000 -benchtime 1x . | tee ../../bench-results/fanout-10000.txt
	cd services/sales && go test -run '^$$' -bench . -benchtime 1s ./internal/adapters/boltstore/ | tee ../../bench-results/sales.txt
	@test -x .tools/bin/aws-lambda-rie || GOBIN=$(CURDIR)/.tools/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	go run ./tools/initbench -rie .tools/bin/aws-lambda-rie -moto $(VENV)/bin/moto_server -out bench-results/init.json
	go run ./tools/loadgen -summary bench-results/summary.json -from-load bench-results/loadgen-max-durable.json \
	  -from-ceiling bench-results/ceiling.json -from-bench bench-results/concerts-cold.txt,bench-results/projections.txt,bench-results/fanout-10000.txt \
	  -from-init bench-results/init.json

# JDK for the event-ruler harness: 19 or later (JDK 17's Double.toString is not always the
# shortest form, which changes which numbers event-ruler compares). JAVA_HOME wins when it
# is new enough; otherwise the newest JDK under /usr/lib/jvm.
RULER_M2 := $(CURDIR)/.tools/m2

conformance-ruler: ## differential check of the pattern matcher against aws/event-ruler (needs a JDK >= 19 and Maven; not part of make test)
	@jdk=""; for h in "$${JAVA_HOME:-}" $$(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do \
	  [ -n "$$h" ] && [ -x "$$h/bin/java" ] || continue; \
	  v=$$("$$h/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'); \
	  if [ -n "$$v" ] && [ "$${v%%.*}" -ge 19 ] 2>/dev/null; then jdk="$${h%/}"; break; fi; \
	done; \
	if [ -z "$$jdk" ]; then echo "conformance-ruler: no JDK 19 or later found (set JAVA_HOME; JDK 17's Double.toString gives wrong reference answers)" >&2; exit 1; fi; \
	command -v mvn >/dev/null || { echo "conformance-ruler: mvn not found (apt-get install maven)" >&2; exit 1; }; \
	echo "conformance-ruler: JAVA_HOME=$$jdk"; \
	mvn -q -Dmaven.repo.local=$(RULER_M2) -f tools/eventruler/pom.xml compile; \
	JAVA_HOME="$$jdk" go run ./tools/rulerdiff $(ARGS)
