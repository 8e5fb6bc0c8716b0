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

.PHONY: run build test deps lint vet tools bench fmt compose-check clean record-histories fuzz vendor-js chaos

## run: build, migrate, load the demo municipality and serve everything (embedded Temporal)
run: build
	./bin/dimos dev

## build: compile the dimos binary into bin/dimos
build:
	$(GO) build -o bin/dimos ./cmd/dimos

## test: deps, lint, every test against the real PostgreSQL and an in-process Temporal
## server (the browser and axe tests in the system chromium), then a short run of every
## fuzz target, then the fault tests (make chaos, about 3.5 minutes)
test: deps lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory chaos

# What the tests need beyond Go and PostgreSQL. Each is installed only when missing, so
# a second `make deps` returns at once.
AXE_DIR := e2e/axe
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## deps: Debian's chromium (browser and axe tests) and libreoffice-calc-nogui (reads
## exported xlsx back), by apt-get when missing; the axe npm packages by npm ci
deps: $(AXE_DIR)/node_modules/.package-lock.json
	@command -v chromium >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	@command -v soffice >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y libreoffice-calc-nogui; }
	@command -v xmllint >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y libxml2-utils; }

# npm ci writes node_modules/.package-lock.json: newer than package-lock.json means done.
# No package may download a browser of its own: the tests use the system chromium.
$(AXE_DIR)/node_modules/.package-lock.json: $(AXE_DIR)/package-lock.json $(AXE_DIR)/package.json
	cd $(AXE_DIR) && PUPPETEER_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund

# A count of inputs, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a target with a bare "context deadline exceeded" when a worker is starved at
# the deadline (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
# 5000 inputs took 0.4-8 s a target here (1 min 8 s for all). A long run: make fuzz FUZZTIME=5m.
FUZZTIME ?= 5000x

## fuzz: run every Fuzz target for FUZZTIME inputs or time (make fuzz FUZZTIME=5m for a long run)
fuzz:
	@set -e; for f in $$(git ls-files '*_test.go' | xargs grep -l '^func Fuzz'); do \
	  for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
	    echo "fuzz ./$$(dirname $$f) $$fn $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
	  done; \
	done

## chaos: fault tests (chaos/doc.go): build dimos into a temporary directory, run its
## processes, kill -9 the worker, stop Temporal during intake, crash a private PostgreSQL,
## take the protocol registry and the mail server down; every case must complete,
## nothing sent twice, no stage-timing row lost or doubled (about 3.5 minutes)
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

BENCH_TIMEOUT ?= 3h

## bench: benchmarks (never part of make test). cmd/dimos measures intake and whole
## lifecycles next to the bare rates of the same embedded Temporal server, and the
## console's queries at 10k and DIMOS_BENCH_LARGE (1M) cases, in databases seeded
## once and kept (dimos_bench_*); see BENCHMARKS.md
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout $(BENCH_TIMEOUT) ./cmd/dimos/
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v '/cmd/dimos$$')

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

## vendor-js: copy the console's browser libraries (Leaflet, pinned in console/web/package-lock.json)
## into console/static/vendor; the copies are committed, so building dimos needs no npm
LEAFLET_DIST := console/web/node_modules/leaflet/dist
LEAFLET_VENDOR := console/static/vendor/leaflet
vendor-js:
	cd console/web && npm ci --no-audit --no-fund
	rm -rf $(LEAFLET_VENDOR)
	mkdir -p $(LEAFLET_VENDOR)/images
	cp $(LEAFLET_DIST)/leaflet.js $(LEAFLET_DIST)/leaflet.css $(LEAFLET_VENDOR)/
	cp $(LEAFLET_DIST)/images/*.png $(LEAFLET_VENDOR)/images/
	cp console/web/node_modules/leaflet/LICENSE $(LEAFLET_VENDOR)/LICENSE
