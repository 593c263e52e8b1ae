# The two commands of the README: `make dev` (the main job) and `make test` (everything CI runs).
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/nexus/target
export NEXUS_EXAMPLES_DIR ?= $(CARGO_TARGET_DIR)/examples-wasm
CARGO ?= cargo
NEXUS := $(CARGO_TARGET_DIR)/release/nexus

.PHONY: setup examples zkvm-guests build dev test lint bench fmt

setup:
	bash scripts/setup.sh

examples: setup
	bash scripts/build-examples.sh

zkvm-guests: setup
	@if [ -f scripts/build-zkvm-guests.sh ]; then bash scripts/build-zkvm-guests.sh; fi

build:
	$(CARGO) build --release -p nexus-node

# The main job: a local dev network with example functions deployed and firing every block.
dev: examples build
	bash scripts/dev.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: examples zkvm-guests
	$(CARGO) test --workspace
	bash scripts/test-contracts.sh
	bash functions-sdk/c/tests/run.sh
	cd functions-sdk/go && go vet ./... && go test ./...
	cd examples/go-counter && go vet ./... && go test ./...
	$(MAKE) lint

bench: examples
	$(CARGO) bench -p nexus-runtime -p nexus-consensus -p nexus-api

fmt:
	$(CARGO) fmt --all
