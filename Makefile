# The two commands of the README's Quick start: `make run` and `make test`.
# Each installs what it needs first (scripts/setup.sh) and can be run again safely.

LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= data
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: run test test-rust test-browser setup-run setup-test build build-release bench fmt clippy

run: setup-run build-release
	$(TARGET_DIR)/release/switchboard --demo --listen $(LISTEN) --data-dir $(DATA_DIR) \
		--model models/ggml-tiny.en.bin --multilingual-model models/ggml-base.bin

test: setup-test
	cargo build --tests --bins
	cargo test --workspace --no-fail-fast
	$(MAKE) test-browser

test-rust:
	cargo test --workspace --no-fail-fast

test-browser:
	cd tests/browser && SWITCHBOARD_BIN=$(TARGET_DIR)/debug/switchboard npm test

setup-run:
	scripts/setup.sh run

setup-test:
	scripts/setup.sh test

build:
	cargo build

build-release:
	cargo build --release

bench:
	cargo bench --bench call_bench
	cargo bench --bench speech_bench

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
