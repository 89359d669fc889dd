# chatd build and test entry points (GNU make).
#
#   make test            every check: gofmt, vet, templ diff, go test -race,
#                        binaries, Node e2e suites, Playwright (installs what
#                        is missing first)
#   make build           server binaries into bin/
#   make run             go run ./cmd/chatd (http://127.0.0.1:8080)
#   make fmt / vet       gofmt -w / go vet
#   make fuzz            every fuzz target in FUZZPKGS for FUZZTIME (default 10s)
#   make bench           go benchmarks
#   make bench-report    rerun docs/performance.md's load runs, print the tables
#                        (BENCH_QUICK=1 for a smoke run; not part of make test)
#   make vendor-client   refresh the vendored socket.io-client files
#   make vendor-admin-ui refresh the vendored Socket.IO Admin UI dashboard
#
# See docs/development.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO ?= go
NPM ?= npm
FUZZTIME ?= 10s
FUZZPKGS ?= ./...
BENCHTIME ?= 1s
CHROMIUM ?= /usr/bin/chromium

# The socket.io-client release whose browser bundles are vendored under
# CLIENT_DIR and served by the Socket.IO server.
SOCKETIO_CLIENT_VERSION ?= 4.8.4
CLIENT_DIR := socketio/clientfiles/third_party/socket.io-client
CLIENT_FILES := socket.io.js socket.io.js.map \
	socket.io.min.js socket.io.min.js.map \
	socket.io.esm.min.js socket.io.esm.min.js.map \
	socket.io.msgpack.min.js socket.io.msgpack.min.js.map

# The @socket.io/admin-ui release whose dashboard (ui/dist, without the
# source maps) is vendored under ADMIN_UI_DIR and served by chatd.
ADMIN_UI_VERSION ?= 0.5.1
ADMIN_UI_DIR := socketio/admin/adminui/third_party/admin-ui

E2E_DIR := e2e

# Playwright drives the system Chromium; it must never download browsers.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

# Targets run one after another, in the order written.
.NOTPARALLEL:

.PHONY: test check gofmt-check vet-check templ-check go-test build run fmt vet \
	fuzz bench bench-report vendor-client vendor-admin-ui deps chromium e2e-deps e2e e2e-node e2e-playwright clean

## test: everything, in order. Installs, static checks and the build stop at
## the first failure; the end-to-end suites and the Go tests all run even if
## one fails, and the Go test summary comes last.
test:
	@$(MAKE) --no-print-directory deps check build
	@failed=""; \
	$(MAKE) --no-print-directory e2e-node || failed="$$failed e2e-node"; \
	$(MAKE) --no-print-directory e2e-playwright || failed="$$failed e2e-playwright"; \
	$(MAKE) --no-print-directory go-test || failed="$$failed go-test"; \
	if [ -n "$$failed" ]; then echo "==> FAILED:$$failed"; exit 1; fi

## check: static checks only.
check: gofmt-check vet-check templ-check

# Every Go file of the module (not dependencies or tool caches).
GO_FILES = $$(find . \( -name .git -o -name node_modules -o -name bin \) -prune -o -name '*.go' -type f -print)

gofmt-check:
	@echo "==> gofmt"
	@files="$(GO_FILES)"; out=""; \
	if [ -n "$$files" ]; then out="$$(gofmt -l $$files)"; fi; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet-check:
	@echo "==> go vet ./..."
	$(GO) vet ./...

# Regenerating templates must not change any generated file (compared by
# content before and after, so files created or changed show up too).
TEMPL_SUMS = find . -name '*_templ.go' -not -path './e2e/*' -not -path './.git/*' | LC_ALL=C sort | xargs -r sha256sum

templ-check:
	@if [ -n "$$(git ls-files --cached --others --exclude-standard -- '*.templ')" ]; then \
		echo "==> go tool templ generate (must leave no diff)"; \
		before="$$($(TEMPL_SUMS))"; \
		out="$$($(GO) tool templ generate 2>&1)" || { echo "$$out"; exit 1; }; \
		after="$$($(TEMPL_SUMS))"; \
		if [ "$$before" != "$$after" ]; then \
			echo "templ generate changed generated files; run it and commit the result:"; \
			diff <(echo "$$before") <(echo "$$after") || true; exit 1; \
		fi; \
	fi

go-test:
	@echo "==> go test -race -count=1 ./..."
	$(GO) test -race -count=1 ./...

## build: server binaries into bin/.
build:
	@echo "==> go build -o bin/ ./cmd/..."
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/...

## run: the chat server on http://127.0.0.1:8080.
run:
	$(GO) run ./cmd/chatd

fmt:
	@files="$(GO_FILES)"; if [ -n "$$files" ]; then gofmt -w $$files; fi

vet: vet-check

## fuzz: each fuzz target alone for FUZZTIME.
# `go test -list` prints a package's fuzz targets, then "ok <package> ...".
fuzz:
	@targets="$$($(GO) test -list '^Fuzz' $(FUZZPKGS) | awk '/^Fuzz/ { t[n++] = $$1; next } \
		/^ok / { for (i = 0; i < n; i++) print $$2, t[i]; n = 0 }')"; \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	while read -r pkg target; do \
		echo "==> $$pkg $$target ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done <<< "$$targets"

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## bench-report: chatd against the Node chat server, then the library
## against Node socket.io, as in docs/performance.md; each server started on
## a loopback port of its own, servers and load on different CPUs. Settings
## from the environment: BENCH_CONNS (10000), BENCH_QUICK=1, BENCH_ACCOUNTS,
## BENCH_PARTS, BENCH_CLUSTER=0, BENCH_TIMEOUT, BENCH_SEARCH_STEPS (8 runs of
## each fan-out's rate search), BENCH_SEARCH_FACTOR (1.15), BENCH_OUT,
## BENCH_PIN (see go doc ./cmd/benchreport). Raw JSON lines in
## bin/bench-results.jsonl.
bench-report: e2e-deps
	@echo "==> go build -o bin/ ./cmd/chatd ./cmd/chatbench ./cmd/benchserver ./cmd/benchreport"
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/chatd ./cmd/chatbench ./cmd/benchserver ./cmd/benchreport
	bin/benchreport

## vendor-client: refresh CLIENT_DIR from the npm package socket.io-client.
vendor-client:
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	echo "==> npm pack socket.io-client@$(SOCKETIO_CLIENT_VERSION)"; \
	( cd "$$tmp" && $(NPM) pack --silent "socket.io-client@$(SOCKETIO_CLIENT_VERSION)" >/dev/null \
		&& tar -xzf "socket.io-client-$(SOCKETIO_CLIENT_VERSION).tgz" ); \
	got="$$(node -p 'require(process.argv[1]).version' "$$tmp/package/package.json")"; \
	if [ "$$got" != "$(SOCKETIO_CLIENT_VERSION)" ]; then \
		echo "package version $$got, want $(SOCKETIO_CLIENT_VERSION)"; exit 1; fi; \
	mkdir -p $(CLIENT_DIR); \
	for f in $(CLIENT_FILES); do cp "$$tmp/package/dist/$$f" $(CLIENT_DIR)/$$f; done; \
	cp "$$tmp/package/LICENSE" $(CLIENT_DIR)/LICENSE; \
	printf '%s\n' "$(SOCKETIO_CLIENT_VERSION)" > $(CLIENT_DIR)/VERSION; \
	echo "vendored socket.io-client $(SOCKETIO_CLIENT_VERSION) into $(CLIENT_DIR)"

## vendor-admin-ui: refresh the vendored Socket.IO Admin UI dashboard.
vendor-admin-ui:
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	echo "==> npm pack @socket.io/admin-ui@$(ADMIN_UI_VERSION)"; \
	( cd "$$tmp" && $(NPM) pack --silent "@socket.io/admin-ui@$(ADMIN_UI_VERSION)" >/dev/null \
		&& tar -xzf "socket.io-admin-ui-$(ADMIN_UI_VERSION).tgz" ); \
	got="$$(node -p 'require(process.argv[1]).version' "$$tmp/package/package.json")"; \
	if [ "$$got" != "$(ADMIN_UI_VERSION)" ]; then \
		echo "package version $$got, want $(ADMIN_UI_VERSION)"; exit 1; fi; \
	rm -rf $(ADMIN_UI_DIR)/dist; mkdir -p $(ADMIN_UI_DIR); \
	cp -r "$$tmp/package/ui/dist" $(ADMIN_UI_DIR)/dist; \
	find $(ADMIN_UI_DIR)/dist -name '*.map' -delete; \
	cp "$$tmp/package/LICENSE" $(ADMIN_UI_DIR)/LICENSE; \
	printf '%s\n' "$(ADMIN_UI_VERSION)" > $(ADMIN_UI_DIR)/VERSION; \
	echo "vendored @socket.io/admin-ui $(ADMIN_UI_VERSION) into $(ADMIN_UI_DIR)"

## deps: install what is missing on a fresh Debian machine.
deps: chromium e2e-deps

# Debian packages the tests use: Chromium for Playwright, nginx for the
# load-balancer test of docs/deploy.md (apt needs root; sudo otherwise).
chromium:
	@need=; [ -x $(CHROMIUM) ] || need="chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need="$$need nginx-light"; \
	if [ -n "$$need" ]; then \
		echo "==> apt-get install$$need"; \
		sudo=; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	fi

# npm ci when node_modules is missing or does not match the lock file
# (compares every package name and version of both lock files).
e2e-deps:
	@if [ ! -f $(E2E_DIR)/node_modules/.package-lock.json ] \
		|| ! cmp -s <(node -e 'const l=require("./$(E2E_DIR)/package-lock.json").packages;for(const k of Object.keys(l).sort())if(k)console.log(k,l[k].version)') \
		             <(node -e 'const l=require("./$(E2E_DIR)/node_modules/.package-lock.json").packages;for(const k of Object.keys(l).sort())if(k)console.log(k,l[k].version)'); then \
		echo "==> npm ci (e2e)"; \
		cd $(E2E_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error; \
	fi

## e2e: Node test-runner suites, then Playwright (each only if tests exist).
e2e: e2e-node e2e-playwright

e2e-node:
	@files="$$(find $(E2E_DIR)/node -maxdepth 1 -name '*.test.mjs' 2>/dev/null | sort)"; \
	if [ -n "$$files" ]; then \
		echo "==> node --test $(E2E_DIR)/node/"; \
		node --test --test-reporter=spec --test-timeout=120000 $$files; \
	else echo "==> node --test: no suites in $(E2E_DIR)/node/"; fi

e2e-playwright:
	@if [ -n "$$(find $(E2E_DIR)/tests -name '*.spec.*' 2>/dev/null | head -1)" ]; then \
		echo "==> npx playwright test"; \
		cd $(E2E_DIR) && npx playwright test; \
	else echo "==> playwright: no specs in $(E2E_DIR)/tests/"; fi

clean:
	rm -rf bin $(E2E_DIR)/test-results $(E2E_DIR)/playwright-report
