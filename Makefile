# Developer and CI entry points. Tools are built from the Go module proxy into bin/
# (git-ignored), never downloaded as prebuilt binaries: those cannot be fetched here.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO ?= go
BIN := $(CURDIR)/bin

# Keep in step with devstack.TemporalCLIVersion. v1.5.1 (Server 1.29.1) is the newest
# CLI that builds from the proxy with this Go.
TEMPORAL_CLI_MODULE := github.com/temporalio/cli
TEMPORAL_CLI_PKG := $(TEMPORAL_CLI_MODULE)/cmd/temporal
TEMPORAL_CLI_VERSION := v1.5.1
WORKFLOWCHECK_MODULE := go.temporal.io/sdk/contrib/tools/workflowcheck
WORKFLOWCHECK_VERSION := v0.6.0
STATICCHECK_MODULE := honnef.co/go/tools
STATICCHECK_VERSION := v0.8.2

BENCH_ARGS ?=

.PHONY: help tools dev test lint bench packages

help:
	@echo "make dev    run the whole stack locally (Temporal, PostgreSQL, API, worker)"
	@echo "make test   lint, then every test (starts its own Temporal and PostgreSQL)"
	@echo "make lint   gofmt, go vet, workflowcheck, staticcheck"
	@echo "make bench  JobWorkflow against a minimal workflow, then the API (HTTP vs SDK, job list); BENCH_ARGS='-n 200 -c 8'"
	@echo "make tools  install the Temporal CLI and workflowcheck into bin/"

# install-tool BINARY,MODULE,PACKAGE,VERSION: go install unless bin/BINARY was built
# from that module version (`go version -m` reads it from the binary), so a version bump
# here rebuilds the tool and an unchanged one costs nothing.
define install-tool
	@if ! $(GO) version -m $(BIN)/$(1) 2>/dev/null | grep -qE "^\s+mod\s+$(2)\s+$(4)(\s|$$)"; then \
		echo "installing $(3)@$(4) into bin/"; \
		GOBIN=$(BIN) $(GO) install $(3)@$(4); \
	fi
endef

tools:
	$(call install-tool,temporal,$(TEMPORAL_CLI_MODULE),$(TEMPORAL_CLI_PKG),$(TEMPORAL_CLI_VERSION))
	$(call install-tool,workflowcheck,$(WORKFLOWCHECK_MODULE),$(WORKFLOWCHECK_MODULE),$(WORKFLOWCHECK_VERSION))
	$(call install-tool,staticcheck,$(STATICCHECK_MODULE),$(STATICCHECK_MODULE)/cmd/staticcheck,$(STATICCHECK_VERSION))

dev: tools
	deploy/ensure-packages
	$(GO) run ./cmd/jobmanager dev

# Lint stays fast: it runs before every test run.
lint: tools
	@# Tracked and new files, not ignored ones (data/, bin/); a file deleted but not yet
	@# committed is skipped. Outside a git checkout, every Go file below here.
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		files=(); while IFS= read -r f; do [[ -f $$f ]] && files+=("$$f"); done < <(git ls-files -co --exclude-standard -- '*.go'); \
	else \
		mapfile -t files < <(find . -path ./bin -prune -o -path ./data -prune -o -name '*.go' -print); \
	fi; \
	unformatted="$$(gofmt -l "$${files[@]}" </dev/null)"; \
	if [[ -n $$unformatted ]]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/workflowcheck -config .ci/workflowcheck.yaml ./workflows/...
	$(BIN)/staticcheck ./...

# On a fresh Debian machine (as root) the test packages come first: PostgreSQL, Chromium
# for the page tests, docker-compose for the compose check; a warm machine skips apt.
test: packages lint
	$(GO) test -count=1 -timeout 25m ./...

packages:
	deploy/ensure-packages --ci

bench: tools
	$(GO) run ./bench $(BENCH_ARGS)
