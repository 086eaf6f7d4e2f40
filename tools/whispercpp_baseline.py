#!/usr/bin/env python3
"""Plain whisper.cpp baseline for the speech evaluation set (eval/speech/).

Transcribes every manifest row (eval/speech/*.tsv) of one language, and each of its
variants, whose audio exists in eval/speech/cache/, with whisper.cpp through pywhispercpp,
using whisper.cpp's own defaults: the full 30 s window (audio_ctx 0), timestamps and
segments as default, temperature fallback as default. Two configurations:

  greedy  whisper_full_default_params(GREEDY) (best_of 5 for the fallback temperatures)
  beam5   whisper_full_default_params(BEAM_SEARCH), beam size 5, best_of 5: what
          whisper-cli does with no options

Writes eval/speech/baseline/<model>-<config>.tsv: a '#' comment line with the versions,
model and settings, then a header 'id<TAB>hypothesis' and one row per clip (variants as
<id>~tel, <id>~noisy); the hypothesis is the segment texts joined with spaces.

Usage (from the repo root, in a venv with pywhispercpp==1.5.1 and numpy; needs sox):
  tools/whispercpp_baseline.py --model models/ggml-tiny.en.bin            # en rows
  tools/whispercpp_baseline.py --model models/ggml-base.bin --lang zh     # zh rows
Options: --config greedy|beam5 (repeatable; default both), --threads N (default 2),
--only ID (repeatable), --resume (reuse rows of an existing output with the same header),
--verbose (keep whisper.cpp's log).
"""

import argparse
import contextlib
import csv
import glob
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL = os.path.join(ROOT, "eval", "speech")
CACHE = os.path.join(EVAL, "cache")
HEADER = ["id", "group", "lang", "variants", "ref_quality", "reference"]


def read_manifests():
    rows = []
    for path in sorted(glob.glob(os.path.join(EVAL, "*.tsv"))):
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header != HEADER:
                sys.exit(f"{path}: header is {header}, expected {HEADER}")
            for rec in reader:
                if not rec or not rec[0]:
                    continue
                if len(rec) != len(HEADER):
                    sys.exit(f"{path}: row {rec[0]} has {len(rec)} fields")
                rows.append(dict(zip(HEADER, rec)))
    return rows


def load_audio(path):
    """Any WAV sox reads (e.g. the 8 kHz telephone variants) -> 16 kHz mono float32."""
    raw = subprocess.run(
        ["sox", "-R", "-D", path, "-t", "raw", "-e", "floating-point", "-b", "32",
         "-r", "16000", "-c", "1", "-L", "-"],
        check=True, stdout=subprocess.PIPE).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


@contextlib.contextmanager
def quiet_stderr(enabled):
    """whisper.cpp logs to fd 2 from C; silence it unless --verbose."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def whisper_cpp_version(pw):
    """The bundled libwhisper's version, from its file name (libwhisper.so.X.Y.Z)."""
    here = os.path.dirname(pw.__file__)
    for name in sorted(os.listdir(here)):
        m = re.fullmatch(r"libwhisper\.so\.(\d+\.\d+\.\d+)", name)
        if m:
            return m.group(1)
    return "unknown"


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_params(pw, config, threads, lang):
    if config == "greedy":
        p = pw.whisper_full_default_params(pw.whisper_sampling_strategy.WHISPER_SAMPLING_GREEDY)
    elif config == "beam5":
        p = pw.whisper_full_default_params(pw.whisper_sampling_strategy.WHISPER_SAMPLING_BEAM_SEARCH)
        p.beam_search = {"beam_size": 5, "patience": -1.0}
        p.greedy = {"best_of": 5}
    else:
        raise ValueError(config)
    p.n_threads = threads
    p.language = lang
    p.print_progress = False
    p.print_realtime = False
    return p


def transcribe(pw, ctx, params, audio):
    rc = pw.whisper_full(ctx, params, audio, audio.size)
    if rc not in (0, None):
        raise RuntimeError(f"whisper_full returned {rc}")
    texts = []
    for i in range(pw.whisper_full_n_segments(ctx)):
        t = pw.whisper_full_get_segment_text(ctx, i)
        if isinstance(t, bytes):
            t = t.decode("utf-8", errors="replace")
        t = " ".join(t.split())
        if t:
            texts.append(t)
    return " ".join(texts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/ggml-tiny.en.bin")
    ap.add_argument("--lang", help="rows of this language (default: en for *.en models)")
    ap.add_argument("--config", action="append", choices=["greedy", "beam5"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", action="append", help="only this manifest id (repeatable)")
    ap.add_argument("--out", default=os.path.join(EVAL, "baseline"))
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    model = args.model if os.path.isabs(args.model) else os.path.join(ROOT, args.model)
    if not os.path.isfile(model):
        sys.exit(f"{args.model} not found (scripts/fetch-models.sh [--base] makes it)")
    model_name = re.sub(r"^ggml-|\.bin$", "", os.path.basename(model))
    lang = args.lang or ("en" if model_name.endswith(".en") else None)
    if lang is None:
        sys.exit("--lang is needed for a multilingual model")
    configs = args.config or ["greedy", "beam5"]

    import _pywhispercpp as pw
    versions = (f"pywhispercpp {importlib.metadata.version('pywhispercpp')}, "
                f"whisper.cpp {whisper_cpp_version(pw)}")

    items = []  # (output id, wav path)
    for row in read_manifests():
        if row["lang"] != lang or (args.only and row["id"] not in args.only):
            continue
        names = [row["id"]]
        if row["variants"] != "-":
            names += [f"{row['id']}~{v}" for v in row["variants"].split(",")]
        for name in names:
            wav = os.path.join(CACHE, name + ".wav")
            if os.path.isfile(wav):
                items.append((name, wav))
            else:
                print(f"baseline: skipping {name}: no {os.path.relpath(wav, ROOT)}", file=sys.stderr)
    if not items:
        sys.exit(f"no {lang} audio in {os.path.relpath(CACHE, ROOT)} (run scripts/fetch-eval-speech.sh)")

    with quiet_stderr(not args.verbose):
        ctx = pw.whisper_init_from_file_with_params(model, pw.whisper_context_default_params())
    os.makedirs(args.out, exist_ok=True)
    model_sha = sha256_of(model)

    for config in configs:
        out = os.path.join(args.out, f"{model_name}-{config}.tsv")
        comment = (f"# {versions}; model {os.path.basename(model)} sha256 {model_sha}; "
                   f"config {config} (whisper.cpp defaults: audio_ctx 0, temperature 0 + 0.2 "
                   f"fallback{', beam_size 5, best_of 5' if config == 'beam5' else ', best_of 5'}); "
                   f"language {lang}; threads {args.threads}")
        done = {}
        if args.resume and os.path.isfile(out):
            with open(out, encoding="utf-8") as f:
                lines = f.read().split("\n")
            if lines and lines[0] == comment:
                for line in lines[2:]:
                    if "\t" in line:
                        k, v = line.split("\t", 1)
                        done[k] = v
        params = make_params(pw, config, args.threads, lang)
        results, t_all, a_all = [], time.monotonic(), 0.0
        for name, wav in items:
            if name in done:
                results.append((name, done[name]))
                continue
            audio = load_audio(wav)
            t0 = time.monotonic()
            with quiet_stderr(not args.verbose):
                hyp = transcribe(pw, ctx, params, audio)
            dt = time.monotonic() - t0
            a_all += audio.size / 16000
            print(f"baseline: {model_name} {config} {name} ({audio.size / 16000:.1f} s audio, "
                  f"{dt:.1f} s): {hyp}", file=sys.stderr)
            results.append((name, hyp))
            # Write as we go, so that --resume can pick up after an interruption.
            write(out, comment, results)
        write(out, comment, results)
        print(f"baseline: wrote {os.path.relpath(out, ROOT)} ({len(results)} rows, "
              f"{a_all:.0f} s of audio in {time.monotonic() - t_all:.0f} s)", file=sys.stderr)
    pw.whisper_free(ctx)


def write(out, comment, results):
    tmp = out + ".partial"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(comment + "\n")
        f.write("id\thypothesis\n")
        for name, hyp in results:
            f.write(f"{name}\t{hyp.replace(chr(9), ' ')}\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
