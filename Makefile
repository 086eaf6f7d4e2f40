# The two commands of the README's Quick start: `make run` and `make test`.
# Each installs what it needs first (scripts/setup.sh) and can be run again safely.

LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= data
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: run test test-rust test-browser setup-run setup-test build build-release bench fmt clippy eval-speech eval-emotion

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

# WER/CER per group of the speech evaluation set (eval/speech), next to plain whisper.cpp's.
# Another model: make eval-speech EVAL_MODEL=models/ggml-tiny.en-q8_0.bin
EVAL_MODEL ?= models/ggml-tiny.en.bin
eval-speech: setup-test
	scripts/fetch-models.sh --base --quantized
	SB_EVAL_MODEL=$(EVAL_MODEL) cargo bench --bench speech_eval

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

# Confusion matrix of the emotion scorer on eval/emotion (calm, frustrated, angry; en and zh).
eval-emotion: setup-test
	cargo bench --bench emotion_eval
