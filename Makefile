# The two commands of the README's Quick start: `make run` and `make test`.
# Each installs what it needs first (scripts/setup.sh) and can be run again safely.

LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= data
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: run test test-rust test-browser setup-run setup-test build build-release bench fmt clippy eval-speech eval-emotion \
	fuzz fuzz-long fuzz-build fuzz-setup

run: setup-run build-release
	$(TARGET_DIR)/release/switchboard --demo --listen $(LISTEN) --data-dir $(DATA_DIR) \
		--model models/ggml-tiny.en.bin --multilingual-model models/ggml-base.bin \
		--queue-announcement assets/demo-greeting.wav

test: setup-test
	cargo build --tests --bins
	cargo build --workspace --benches
	cargo test --workspace --no-fail-fast
	$(MAKE) test-browser
	$(MAKE) fuzz

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
	cargo bench --bench mix_cost
	cargo bench --bench voice_latency
	cargo bench -p signaling --bench routing_bench
	cargo bench -p media --bench hot_path

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

# Coverage-guided fuzzing of the network-facing parsers (docs/fuzzing.md). cargo-fuzz needs -Z
# flags, which stable Rust accepts with RUSTC_BOOTSTRAP=1. `make fuzz` is the bounded run
# (FUZZ_SECONDS per target; a crash, a leak, an input slower than FUZZ_TIMEOUT seconds or over
# 2 GB fails it), `make fuzz-long` the long one (FUZZ_RUNS executions per target). New inputs go
# to fuzz/target/corpus/<target>, never into the committed seeds (fuzz/corpus) or reproducers
# (fuzz/regressions), which are read only and replayed first.
FUZZ_TARGETS ?= signaling_frame sdp_offer audio_tap
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 10000000
FUZZ_TIMEOUT ?= 20
FUZZ_SANITIZER ?= address
FUZZ_ARGS ?=
FUZZ_FLAGS = -O -a -s $(FUZZ_SANITIZER)
FUZZ_CARGO = cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz

fuzz-setup:
	@command -v cmake >/dev/null 2>&1 || { echo "fuzz: cmake is needed for libopus (scripts/setup.sh installs it)" >&2; exit 1; }
	@command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

fuzz-build: fuzz-setup
	$(FUZZ_CARGO) build $(FUZZ_FLAGS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/target/corpus/$$t fuzz/regressions/$$t || exit 1; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		( $(FUZZ_CARGO) run $(FUZZ_FLAGS) $$t target/corpus/$$t corpus/$$t regressions/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 $(FUZZ_ARGS) ) || exit 1; \
	done

fuzz-long: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/target/corpus/$$t fuzz/regressions/$$t || exit 1; \
		echo "fuzz: $$t for $(FUZZ_RUNS) runs"; \
		( $(FUZZ_CARGO) run $(FUZZ_FLAGS) $$t target/corpus/$$t corpus/$$t regressions/$$t -- \
			-runs=$(FUZZ_RUNS) -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 $(FUZZ_ARGS) ) || exit 1; \
	done
