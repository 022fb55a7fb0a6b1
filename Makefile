# The project's commands. `make help` lists them; README.md explains them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO  ?= go
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

# Pinned tool versions, installed into .bin/ by `go install` (nothing else is downloaded).
BUF_VERSION           := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
CONNECT_GO_VERSION    := v1.21.1
SQLC_VERSION          := v1.31.1
STATICCHECK_VERSION   := v0.8.2
# The MinIO server the tests run against (MinIO tags releases outside semver: this is a pseudo-version).
MINIO_VERSION         := v0.0.0-20260212201848-7aac2a2c5b7c
# Where buf/validate/validate.proto comes from at generate time (not committed).
PROTOVALIDATE_VERSION := v1.2.2

GO_PACKAGES := ./...

# The TypeScript SDK (mobile-contracts/ts): its npm packages, pinned by package-lock.json, come from `npm ci`.
TS_DIR  := mobile-contracts/ts
TS_DEPS := $(TS_DIR)/node_modules/.package-lock.json

.PHONY: help
help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: run
run: ## start PostgreSQL under .data/, migrate, seed the demo tenant once (people, customers, materials), run salesd on :8080
	$(GO) build -o $(BIN)/salesd ./cmd/salesd
	$(GO) build -o $(BIN)/salesctl ./cmd/salesctl
	$(BIN)/salesctl dev up
	@# The demo library is published beside salesd, once its object storage answers.
	set -a && source .data/salesd.env && set +a && { $(BIN)/salesctl demo-materials & } && exec $(BIN)/salesd

.PHONY: stop
stop: ## stop the PostgreSQL that make run started (its data stays in .data/)
	$(GO) run ./cmd/salesctl dev down

.PHONY: test
test: $(BIN)/.minio-$(MINIO_VERSION) $(TS_DEPS) chromium ## run every test with -race against a throwaway PostgreSQL and a real MinIO
	$(GO) build -o $(BIN)/salesctl ./cmd/salesctl
	$(BIN)/salesctl pg run -- $(GO) test -race -count=1 -timeout 30m $(GO_PACKAGES)

# Each fuzz target runs this long in `make fuzz` (CI: 15s each); longer by hand: make fuzz FUZZTIME=10m.
FUZZTIME ?= 15s

.PHONY: fuzz
fuzz: ## run every fuzz target (func Fuzz… in a _test.go) for FUZZTIME each; a failing input is kept under the package's testdata/fuzz
	@grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Fuzz' . | sort | while read -r f; do \
	  for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' "$$f" | cut -d' ' -f2); do \
	    echo "fuzz $$fn in $$(dirname "$$f") for $(FUZZTIME)"; \
	    rc=0; out=$$($(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) "$$(dirname "$$f")" 2>&1) || rc=$$?; echo "$$out"; \
	    if [ $$rc -ne 0 ]; then \
	      if grep -q '^    context deadline exceeded$$' <<<"$$out" && ! grep -q 'Failing input written to' <<<"$$out"; then \
	        echo "fuzz $$fn: Go 1.26's fuzz engine raced its own end of time (go.dev/issue/75804, fixed in Go 1.27) and wrote no failing input: not a finding"; \
	      else exit 1; fi; \
	    fi; \
	  done; \
	done

.PHONY: build
build: ## build salesd, salesctl and salesbench into .bin/
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: bench
bench: build ## run Go benchmarks and the salesbench scenarios; paste the tables into BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem $(GO_PACKAGES)
	$(BIN)/salesctl pg run -- $(BIN)/salesbench -salesd $(BIN)/salesd

# --- code generation -------------------------------------------------------------------------------

$(BIN)/.buf-$(BUF_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	touch $@
$(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	touch $@
$(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION):
	GOBIN=$(BIN) $(GO) install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(CONNECT_GO_VERSION)
	touch $@
$(BIN)/.sqlc-$(SQLC_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	touch $@
$(BIN)/.minio-$(MINIO_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/minio/minio@$(MINIO_VERSION)
	touch $@
$(BIN)/.staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	touch $@

GEN_TOOLS := $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
	$(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION) $(BIN)/.sqlc-$(SQLC_VERSION)

.PHONY: tools
tools: $(GEN_TOOLS) $(BIN)/.staticcheck-$(STATICCHECK_VERSION) $(BIN)/.minio-$(MINIO_VERSION) ## install the pinned tools into .bin/

$(TS_DEPS): $(TS_DIR)/package.json $(TS_DIR)/package-lock.json | node
	cd $(TS_DIR) && npm ci --no-audit --no-fund
	touch $@

# Node.js and npm for the TypeScript SDK; installed when missing from Debian's packages (as root, as CI runs).
.PHONY: node
node:
	@command -v npm >/dev/null 2>&1 || { echo "node and npm missing (the TypeScript SDK needs them): installing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }

# The browser tests drive Debian's chromium; install it when missing (as root, as CI runs).
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "chromium missing (the browser tests need it): installing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# protovalidate's validate.proto, copied from the Go module cache (never committed).
.PHONY: protovalidate-proto
protovalidate-proto:
	dir=$$(GOFLAGS=-mod=mod $(GO) mod download -json github.com/bufbuild/protovalidate@$(PROTOVALIDATE_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	mkdir -p .build/protovalidate/buf/validate; \
	install -m 0644 "$$dir/proto/protovalidate/buf/validate/validate.proto" .build/protovalidate/buf/validate/validate.proto

.PHONY: generate
generate: $(GEN_TOOLS) $(TS_DEPS) protovalidate-proto ## rebuild generated code (protobuf, Connect, sqlc, the TypeScript SDK)
	find api -name '*.pb.go' -o -name '*.connect.go' | xargs -r rm -f
	buf generate
	buf build api -o mobile-contracts/api.binpb
	buf generate --template $(TS_DIR)/buf.gen.yaml
	cd $(TS_DIR) && npm run --silent bundle
	cd backend && sqlc generate

.PHONY: check-generated
check-generated: generate ## fail when committed generated code differs from what make generate makes
	@# The SDK made without Go, from the committed image with npm's buf (cd mobile-contracts/ts && npm run generate), is the same.
	rm -rf .tmp/imagegen
	$(TS_DIR)/node_modules/.bin/buf generate mobile-contracts/api.binpb --template $(TS_DIR)/buf.gen.yaml -o .tmp/imagegen
	diff -r .tmp/imagegen/$(TS_DIR)/src/gen $(TS_DIR)/src/gen
	@if [ -n "$$(git status --porcelain -- api backend push sync mobile-contracts)" ]; then \
	  echo "generated code is stale; run make generate and commit:"; git status --porcelain -- api backend push sync mobile-contracts; exit 1; fi

.PHONY: lint
lint: $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.staticcheck-$(STATICCHECK_VERSION) $(TS_DEPS) protovalidate-proto ## buf lint, gofmt, go vet, staticcheck, import layering, tsc
	buf lint api
	cd $(TS_DIR) && npm run --silent typecheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GO_PACKAGES)
	staticcheck $(GO_PACKAGES)
	$(GO) run ./cmd/importcheck

.PHONY: clean
clean: ## remove build outputs (not .data/)
	rm -rf .bin .build
