# dimos — the two commands a newcomer needs are `make run` and `make test`.

GO            ?= go
BIN           := $(CURDIR)/.bin
STATICCHECK   := $(BIN)/staticcheck
WORKFLOWCHECK := $(BIN)/workflowcheck
# Tool versions are pinned (see ../shared/TOOLING.md); `make tools` installs them
# from the Go module proxy into .bin/.
STATICCHECK_VERSION   := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
TEST_TIMEOUT  ?= 14m

.PHONY: run build test lint vet tools bench fmt compose-check clean record-histories fuzz chaos

## run: build, migrate, load the demo municipality and serve everything (embedded Temporal)
run: build
	./bin/dimos dev

## build: compile the dimos binary into bin/dimos
build:
	$(GO) build -o bin/dimos ./cmd/dimos

## test: lint, every test against the real PostgreSQL and an in-process Temporal server,
## then a short run of every fuzz target
test: lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz

FUZZTIME ?= 4s

## fuzz: run every Fuzz target for FUZZTIME (make fuzz FUZZTIME=5m for a long run)
fuzz:
	@set -e; for f in $$(git ls-files '*_test.go' | xargs grep -l '^func Fuzz'); do \
	  for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
	    echo "fuzz ./$$(dirname $$f) $$fn $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
	  done; \
	done

## chaos: fault tests: build bin/dimos, run its processes, kill -9 the worker, stop
## Temporal during intake, crash a private PostgreSQL, take the protocol registry and
## the mail server down; every case must complete, nothing sent twice (chaos/)
chaos:
	$(GO) test -tags chaos -count=1 -timeout 20m -v ./chaos/

## lint: go vet, staticcheck and workflowcheck (non-deterministic workflow code fails here)
lint: vet $(STATICCHECK) $(WORKFLOWCHECK)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(STATICCHECK) ./...
	$(WORKFLOWCHECK) ./workflows/...

vet:
	$(GO) vet ./...
	$(GO) vet -tags chaos ./chaos/

tools: $(STATICCHECK) $(WORKFLOWCHECK)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(WORKFLOWCHECK):
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

## bench: benchmarks (never part of make test)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## compose-check: validate docker-compose.yml (needs Debian's docker-compose; no engine)
compose-check:
	docker-compose config -q

clean:
	rm -rf bin .bin data

## record-histories: record real workflow histories into workflows/testdata for the replay test
record-histories:
	DIMOS_RECORD_HISTORY=1 $(GO) test -count=1 -run 'TestCertificateLifecycle|TestCaseEndToEnd' ./cmd/dimos
