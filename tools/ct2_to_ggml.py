#!/usr/bin/env python3
"""Convert a Whisper model in CTranslate2 format to whisper.cpp's ggml format.

Usage:
    ct2_to_ggml.py INPUT_DIR OUTPUT_FILE   convert (INPUT_DIR holds model.bin,
                                           config.json, vocabulary.txt)
    ct2_to_ggml.py --verify GGML_FILE      re-read a ggml file, list its tensors
                                           and check them against the set
                                           whisper.cpp expects
    ct2_to_ggml.py --quantize q8_0|q5_0 IN_GGML OUT_GGML
                                           quantise the 2-D weight matrices of an
                                           f16 ggml model (conv weights stay f16,
                                           biases, norms and positions f32)

Needs Python 3.9+ and numpy only. Written for Switchboard from the project's format
notes ("Whisper models without a model hub"); no code from other projects.

Output layout (all integers little-endian int32):
    magic 0x67676d6c
    n_vocab n_audio_ctx n_audio_state n_audio_head n_audio_layer
    n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype(1 = f16)
    mel filters: n_mel n_fft(201) then n_mel*n_fft float32
    vocab: count (50257), then per token: len + raw bytes
    tensors: n_dims name_len type(0 f32, 1 f16) ne[n_dims] (reversed shape) name data
Tensors are written in the order of OpenAI's PyTorch state dict, so the output is
byte-for-byte what whisper.cpp's own converter makes from the original checkpoint.
"""

import json
import os
import struct
import sys

try:
    import numpy as np
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("ct2_to_ggml: numpy is required (python3 -m pip install numpy)")

GGML_MAGIC = 0x67676D6C
# ggml tensor types and whole-file "ftype" values (ggml.h).
GGML_F32, GGML_F16, GGML_Q5_0, GGML_Q8_0 = 0, 1, 6, 8
QUANT_TYPES = {"q8_0": (GGML_Q8_0, 7), "q5_0": (GGML_Q5_0, 8)}  # name: (tensor type, ftype)
QK = 32  # values per quantisation block
BLOCK_BYTES = {GGML_Q8_0: 2 + QK, GGML_Q5_0: 2 + 4 + QK // 2}
CT2_BINARY_VERSION = 6
SAMPLE_RATE = 16000
N_FFT = 400
GPT2_VOCAB = 50257  # byte-level BPE ids stored in the ggml vocab

# CTranslate2 dtype ids.
CT2_F32, CT2_I8, CT2_I16, CT2_I32, CT2_F16, CT2_BF16 = 0, 1, 2, 3, 4, 5
CT2_DTYPE_NAMES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
CT2_DTYPE_SIZES = {0: 4, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2}

# Scalar (configuration) variables of a WhisperSpec and the value whisper.cpp's
# architecture implies, where one is implied. Others are skipped.
EXPECTED_SCALARS = {
    "decoder/activation": 3,  # CTranslate2 ActivationType::GELU (exact erf GELU)
    "decoder/alibi": 0,
    "decoder/pre_norm": 1,
    "decoder/scale_embeddings": 0,
    "decoder/start_from_zero_embedding": 0,
}


class ConversionError(Exception):
    pass


# ---------------------------------------------------------------------------
# CTranslate2 model.bin reader
# ---------------------------------------------------------------------------

class _Reader:
    def __init__(self, buf, path):
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise ConversionError(
                f"{self.path}: truncated at byte {self.pos} (wanted {n} more bytes, "
                f"file has {len(self.buf)}); is model.bin complete?")
        view = self.buf[self.pos:self.pos + n]
        self.pos += n
        return view

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def string(self):
        n = self.u16()
        raw = bytes(self.take(n))
        if n == 0 or raw[-1] != 0:
            raise ConversionError(f"{self.path}: malformed string at byte {self.pos - n}")
        return raw[:-1].decode("utf-8")


def read_ct2_model(path):
    """Return (variables, aliases): name -> numpy array (shape as stored), alias -> target."""
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    r = _Reader(buf, path)
    version = r.u32()
    if version != CT2_BINARY_VERSION:
        raise ConversionError(
            f"{path}: CTranslate2 binary version {version}, only version "
            f"{CT2_BINARY_VERSION} is supported")
    spec = r.string()
    if spec != "WhisperSpec":
        raise ConversionError(f"{path}: model spec is {spec!r}, expected 'WhisperSpec'")
    r.u32()  # spec revision
    n_vars = r.u32()
    variables = {}
    for _ in range(n_vars):
        name = r.string()
        rank = r.u8()
        shape = tuple(r.u32() for _ in range(rank))
        dtype = r.u8()
        nbytes = r.u32()
        if dtype not in CT2_DTYPE_SIZES:
            raise ConversionError(f"{path}: variable {name}: unknown dtype id {dtype}")
        count = 1
        for d in shape:
            count *= d
        if count * CT2_DTYPE_SIZES[dtype] != nbytes:
            raise ConversionError(
                f"{path}: variable {name}: shape {shape} of {CT2_DTYPE_NAMES[dtype]} "
                f"does not match its {nbytes} bytes")
        data = r.take(nbytes)
        if dtype == CT2_BF16:
            # bfloat16 is the high half of a float32.
            arr = (np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            np_type = {CT2_F32: "<f4", CT2_I8: "i1", CT2_I16: "<i2",
                       CT2_I32: "<i4", CT2_F16: "<f2"}[dtype]
            arr = np.frombuffer(data, dtype=np_type)
        variables[name] = arr.reshape(shape)
    aliases = {}
    if r.pos < len(buf):
        for _ in range(r.u32()):
            alias = r.string()
            aliases[alias] = r.string()
    if r.pos != len(buf):
        raise ConversionError(f"{path}: {len(buf) - r.pos} unexpected bytes after the aliases")
    return variables, aliases


# ---------------------------------------------------------------------------
# Name mapping
# ---------------------------------------------------------------------------

def _layer_indices(variables, prefix):
    idx = set()
    for name in variables:
        if name.startswith(prefix + "/layer_"):
            part = name[len(prefix) + 7:].split("/", 1)[0]
            if part.isdigit():
                idx.add(int(part))
    n = len(idx)
    if idx != set(range(n)):
        raise ConversionError(f"{prefix}: layer numbers are not contiguous: {sorted(idx)}")
    return n


class _Mapper:
    """Pulls CTranslate2 variables by name, remembering which ones were used."""

    def __init__(self, variables):
        self.vars = variables
        self.used = set()

    def get(self, name, shape=None):
        if name not in self.vars:
            raise ConversionError(f"model.bin lacks variable {name}")
        self.used.add(name)
        arr = self.vars[name]
        if arr.dtype.kind != "f":
            raise ConversionError(
                f"variable {name} is {arr.dtype}; quantized CTranslate2 models are not "
                f"supported, convert with --quantization float16 or float32")
        if shape is not None and tuple(arr.shape) != tuple(shape):
            raise ConversionError(f"variable {name} has shape {arr.shape}, expected {shape}")
        return arr

    def linear(self, ct2, out_name, n_out, n_in):
        return [(out_name + ".weight", self.get(ct2 + "/weight", (n_out, n_in))),
                (out_name + ".bias", self.get(ct2 + "/bias", (n_out,)))]

    def layer_norm(self, ct2, out_name, n):
        return [(out_name + ".weight", self.get(ct2 + "/gamma", (n,))),
                (out_name + ".bias", self.get(ct2 + "/beta", (n,)))]

    def fused(self, ct2, out_prefix, parts, n):
        """Split a row-fused projection into len(parts) blocks of n rows.
        A part named None is dropped; for 'key' the bias is dropped (whisper.cpp has
        no key bias; a constant key bias cannot change attention weights anyway)."""
        w = self.get(ct2 + "/weight", (len(parts) * n, n))
        b = self.get(ct2 + "/bias", (len(parts) * n,))
        out = []
        for i, part in enumerate(parts):
            out.append((f"{out_prefix}.{part}.weight", w[i * n:(i + 1) * n]))
            if part == "key":
                kb = b[i * n:(i + 1) * n]
                if np.any(kb != 0):
                    print(f"ct2_to_ggml: note: {ct2} key bias is not zero "
                          f"(max |b| = {float(np.max(np.abs(kb))):g}); dropping it is still "
                          f"exact for softmax attention", file=sys.stderr)
            else:
                out.append((f"{out_prefix}.{part}.bias", b[i * n:(i + 1) * n]))
        return out


def _attn_block(m, ct2, out, n_state):
    """Tensors of one residual block, in OpenAI's state-dict order."""
    t = []
    t += m.fused(f"{ct2}/self_attention/linear_0", f"{out}.attn", ["query", "key", "value"], n_state)
    t += m.linear(f"{ct2}/self_attention/linear_1", f"{out}.attn.out", n_state, n_state)
    t += m.layer_norm(f"{ct2}/self_attention/layer_norm", f"{out}.attn_ln", n_state)
    return t


def _mlp_block(m, ct2, out, n_state):
    n_mlp = m.get(f"{ct2}/ffn/linear_0/weight").shape[0]
    t = []
    t += m.linear(f"{ct2}/ffn/linear_0", f"{out}.mlp.0", n_mlp, n_state)
    t += m.linear(f"{ct2}/ffn/linear_1", f"{out}.mlp.2", n_state, n_mlp)
    t += m.layer_norm(f"{ct2}/ffn/layer_norm", f"{out}.mlp_ln", n_state)
    return t


def map_tensors(variables, aliases):
    """Return (hparams dict, [(ggml name, array)]) from CTranslate2 variables."""
    for alias, target in aliases.items():
        if (alias, target) != ("decoder/projection/weight", "decoder/embeddings/weight"):
            raise ConversionError(f"unexpected alias {alias} -> {target}")
    if "decoder/projection/weight" in variables:
        raise ConversionError("decoder/projection/weight is a separate tensor; whisper.cpp ties "
                              "the output projection to the token embedding")

    # Check the scalar configuration variables.
    for name, arr in variables.items():
        if arr.ndim != 0:
            continue
        if name in EXPECTED_SCALARS and int(arr) != EXPECTED_SCALARS[name]:
            raise ConversionError(f"{name} = {int(arr)}, whisper.cpp needs {EXPECTED_SCALARS[name]}")

    m = _Mapper(variables)
    tensors = []

    # Encoder.
    pos_a = m.get("encoder/position_encodings/encodings")
    n_audio_ctx, n_audio_state = pos_a.shape
    conv1 = m.get("encoder/conv1/weight")
    if conv1.ndim != 3 or conv1.shape[0] != n_audio_state or conv1.shape[2] != 3:
        raise ConversionError(f"encoder/conv1/weight has shape {conv1.shape}, expected "
                              f"({n_audio_state}, n_mels, 3)")
    n_mels = conv1.shape[1]
    n_audio_layer = _layer_indices(variables, "encoder")

    tensors.append(("encoder.positional_embedding", pos_a))
    tensors.append(("encoder.conv1.weight", conv1))
    tensors.append(("encoder.conv1.bias", m.get("encoder/conv1/bias", (n_audio_state,))))
    tensors.append(("encoder.conv2.weight",
                    m.get("encoder/conv2/weight", (n_audio_state, n_audio_state, 3))))
    tensors.append(("encoder.conv2.bias", m.get("encoder/conv2/bias", (n_audio_state,))))
    for i in range(n_audio_layer):
        ct2, out = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        tensors += _attn_block(m, ct2, out, n_audio_state)
        tensors += _mlp_block(m, ct2, out, n_audio_state)
    tensors += m.layer_norm("encoder/layer_norm", "encoder.ln_post", n_audio_state)

    # Decoder.
    pos_t = m.get("decoder/position_encodings/encodings")
    n_text_ctx, n_text_state = pos_t.shape
    emb = m.get("decoder/embeddings/weight")
    if emb.ndim != 2 or emb.shape[1] != n_text_state:
        raise ConversionError(f"decoder/embeddings/weight has shape {emb.shape}, "
                              f"expected (n_vocab, {n_text_state})")
    n_vocab = emb.shape[0]
    n_text_layer = _layer_indices(variables, "decoder")
    tensors.append(("decoder.positional_embedding", pos_t))
    tensors.append(("decoder.token_embedding.weight", emb))
    for i in range(n_text_layer):
        ct2, out = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        tensors += _attn_block(m, ct2, out, n_text_state)
        tensors.append((f"{out}.cross_attn.query.weight",
                        m.get(f"{ct2}/attention/linear_0/weight", (n_text_state, n_text_state))))
        tensors.append((f"{out}.cross_attn.query.bias",
                        m.get(f"{ct2}/attention/linear_0/bias", (n_text_state,))))
        tensors += m.fused(f"{ct2}/attention/linear_1", f"{out}.cross_attn",
                           ["key", "value"], n_text_state)
        tensors += m.linear(f"{ct2}/attention/linear_2", f"{out}.cross_attn.out",
                            n_text_state, n_text_state)
        tensors += m.layer_norm(f"{ct2}/attention/layer_norm", f"{out}.cross_attn_ln", n_text_state)
        tensors += _mlp_block(m, ct2, out, n_text_state)
    tensors += m.layer_norm("decoder/layer_norm", "decoder.ln", n_text_state)

    # Every non-scalar variable must have been used.
    unused = sorted(n for n, a in variables.items() if a.ndim != 0 and n not in m.used)
    if unused:
        raise ConversionError("unexpected tensor(s) in model.bin: " + ", ".join(unused))

    def num_heads(name):
        if name not in variables or variables[name].ndim != 0:
            raise ConversionError(f"model.bin lacks scalar {name}")
        return int(variables[name])

    n_audio_head = num_heads("encoder/num_heads")
    n_text_head = num_heads("decoder/num_heads")
    for what, state, heads in (("encoder", n_audio_state, n_audio_head),
                               ("decoder", n_text_state, n_text_head)):
        if heads <= 0 or state % heads:
            raise ConversionError(f"{what}: {heads} heads do not divide width {state}")

    hparams = dict(n_vocab=n_vocab, n_audio_ctx=n_audio_ctx, n_audio_state=n_audio_state,
                   n_audio_head=n_audio_head, n_audio_layer=n_audio_layer,
                   n_text_ctx=n_text_ctx, n_text_state=n_text_state,
                   n_text_head=n_text_head, n_text_layer=n_text_layer, n_mels=n_mels)
    return hparams, tensors


HPARAM_ORDER = ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
                "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"]


def expected_tensor_names(hp):
    """The exact tensor set whisper.cpp loads for these hyper-parameters."""
    names = ["encoder.positional_embedding", "encoder.conv1.weight", "encoder.conv1.bias",
             "encoder.conv2.weight", "encoder.conv2.bias",
             "encoder.ln_post.weight", "encoder.ln_post.bias",
             "decoder.positional_embedding", "decoder.token_embedding.weight",
             "decoder.ln.weight", "decoder.ln.bias"]
    block = ["attn.query.weight", "attn.query.bias", "attn.key.weight", "attn.value.weight",
             "attn.value.bias", "attn.out.weight", "attn.out.bias", "attn_ln.weight",
             "attn_ln.bias", "mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias",
             "mlp_ln.weight", "mlp_ln.bias"]
    cross = ["cross_attn.query.weight", "cross_attn.query.bias", "cross_attn.key.weight",
             "cross_attn.value.weight", "cross_attn.value.bias", "cross_attn.out.weight",
             "cross_attn.out.bias", "cross_attn_ln.weight", "cross_attn_ln.bias"]
    for i in range(hp["n_audio_layer"]):
        names += [f"encoder.blocks.{i}.{b}" for b in block]
    for i in range(hp["n_text_layer"]):
        names += [f"decoder.blocks.{i}.{b}" for b in block + cross]
    return names


# ---------------------------------------------------------------------------
# Mel filter bank (Slaney mel scale, Slaney area normalisation), as librosa's
# filters.mel(sr=16000, n_fft=400, n_mels=80) defaults compute it.
# ---------------------------------------------------------------------------

_MEL_F_SP = 200.0 / 3.0           # Hz per mel below the break frequency
_MEL_BREAK_HZ = 1000.0
_MEL_BREAK = _MEL_BREAK_HZ / _MEL_F_SP  # = 15 mels
_MEL_LOGSTEP = np.log(6.4) / 27.0   # log-spaced region above the break


def hz_to_mel(hz):
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _MEL_F_SP
    with np.errstate(divide="ignore"):
        log = _MEL_BREAK + np.log(np.maximum(hz, 1e-10) / _MEL_BREAK_HZ) / _MEL_LOGSTEP
    return np.where(hz >= _MEL_BREAK_HZ, log, linear)


def mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _MEL_F_SP
    log = _MEL_BREAK_HZ * np.exp(_MEL_LOGSTEP * (mel - _MEL_BREAK))
    return np.where(mel >= _MEL_BREAK, log, linear)


def mel_filters(n_mels, sr=SAMPLE_RATE, n_fft=N_FFT):
    """Triangular filters on n_mels+2 mel-spaced edges between 0 and sr/2, each scaled
    to unit area (2 / bandwidth in Hz). Returns float32 (n_mels, n_fft//2 + 1)."""
    n_bins = n_fft // 2 + 1
    bin_hz = np.arange(n_bins, dtype=np.float64) * (sr / n_fft)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    widths = np.diff(edges)
    dist = edges[:, None] - bin_hz[None, :]   # edge minus bin frequency
    # The triangles are rounded to float32 before the area scaling (computed in float64,
    # rounded again). That double rounding is what librosa does, and it makes the table
    # bit-identical to the one OpenAI ships (whisper/assets/mel_filters.npz) and hence to
    # the filters in upstream ggml files; a single rounding differs in 118 of 16080 values
    # by one float32 ulp.
    weights = np.zeros((n_mels, n_bins), dtype=np.float32)
    for i in range(n_mels):
        rising = -dist[i] / widths[i]
        falling = dist[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, None]
    return weights


# ---------------------------------------------------------------------------
# Vocabulary: vocabulary.txt holds byte-level BPE tokens in GPT-2's printable
# byte-to-character encoding; ggml wants the raw bytes.
# ---------------------------------------------------------------------------

def _char_to_byte():
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1))
                 + list(range(ord("\xae"), ord("\xff") + 1)))
    table = {chr(b): b for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table.values():
            table[chr(256 + shifted)] = b
            shifted += 1
    return table


def read_vocab(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    lines = text.split("\n")   # not splitlines(): tokens may contain other line breaks
    try:
        end = lines.index("<|endoftext|>")
    except ValueError:
        raise ConversionError(f"{path}: no <|endoftext|> token") from None
    # Upstream ggml files hold GPT-2's 50257 ids 0..50256: for English-only models that
    # ends with <|endoftext|> (id 50256); multilingual models have one more regular token
    # there and <|endoftext|> at 50257, which is left out. whisper.cpp names the ids past
    # the stored ones itself ([_EOT_], [_SOT_], ...).
    if end < GPT2_VOCAB - 1:
        raise ConversionError(f"{path}: <|endoftext|> at line {end + 1}, expected line "
                              f"{GPT2_VOCAB} or later")
    table = _char_to_byte()
    tokens = []
    for i, tok in enumerate(lines[:GPT2_VOCAB]):
        try:
            tokens.append(bytes(table[c] for c in tok))
        except KeyError as e:
            raise ConversionError(f"{path}: line {i + 1}: character {e.args[0]!r} is not in "
                                  f"GPT-2's byte encoding") from None
    return tokens, len(lines) - (1 if lines and lines[-1] == "" else 0)


# ---------------------------------------------------------------------------
# ggml writer / reader
# ---------------------------------------------------------------------------

def _is_f32_tensor(name, ndim):
    return ndim < 2 or name in ("encoder.conv1.bias", "encoder.conv2.bias",
                                "encoder.positional_embedding", "decoder.positional_embedding")


def write_ggml(out_path, hparams, filters, tokens, tensors):
    out_dir = os.path.dirname(os.path.abspath(out_path))
    tmp = os.path.join(out_dir, f".{os.path.basename(out_path)}.tmp.{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<i", GGML_MAGIC))
            f.write(struct.pack("<10i", *(hparams[k] for k in HPARAM_ORDER)))
            f.write(struct.pack("<i", 1))  # ftype: mostly f16
            f.write(struct.pack("<ii", *filters.shape))
            f.write(filters.astype("<f4").tobytes())
            f.write(struct.pack("<i", len(tokens)))
            for tok in tokens:
                f.write(struct.pack("<i", len(tok)))
                f.write(tok)
            for name, arr in tensors:
                if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                    arr = arr.reshape(-1, 1)
                if _is_f32_tensor(name, arr.ndim):
                    arr, ggml_type = arr.astype("<f4"), 0
                else:
                    arr, ggml_type = arr.astype("<f2"), 1
                raw = name.encode("utf-8")
                f.write(struct.pack("<iii", arr.ndim, len(raw), ggml_type))
                f.write(struct.pack(f"<{arr.ndim}i", *reversed(arr.shape)))
                f.write(raw)
                f.write(np.ascontiguousarray(arr).tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_ggml(path):
    """Parse a whisper.cpp ggml file; returns (hparams, ftype, mel shape, tokens, tensors)
    where tensors is a list of (name, shape, type, data offset)."""
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    r = _Reader(buf, path)

    def i32():
        return struct.unpack("<i", r.take(4))[0]

    magic = i32() & 0xFFFFFFFF
    if magic != GGML_MAGIC:
        raise ConversionError(f"{path}: bad magic 0x{magic:08x}, not a ggml file")
    hparams = {k: i32() for k in HPARAM_ORDER}
    ftype = i32()
    n_mel, n_fft = i32(), i32()
    if (any(not 0 < v < 1 << 20 for v in hparams.values()) or ftype not in (0, 1, 7, 8)
            or n_mel != hparams["n_mels"] or n_fft != N_FFT // 2 + 1):
        raise ConversionError(f"{path}: ggml file but not a whisper.cpp model "
                              f"(implausible header {list(hparams.values())}, ftype {ftype}, "
                              f"mel {n_mel}x{n_fft})")
    mel = np.frombuffer(r.take(4 * n_mel * n_fft), dtype="<f4").reshape(n_mel, n_fft)
    tokens = []
    for _ in range(i32()):
        tokens.append(bytes(r.take(i32())))
    tensors = []
    while r.pos < len(buf):
        n_dims, name_len, ttype = i32(), i32(), i32()
        if not 1 <= n_dims <= 4 or ttype not in (GGML_F32, GGML_F16, GGML_Q5_0, GGML_Q8_0):
            raise ConversionError(f"{path}: bad tensor header at byte {r.pos - 12}")
        ne = [i32() for _ in range(n_dims)]
        name = bytes(r.take(name_len)).decode("utf-8")
        count = 1
        for d in ne:
            count *= d
        offset = r.pos
        r.take(_tensor_bytes(ttype, count))
        tensors.append((name, tuple(reversed(ne)), ttype, offset))
    return hparams, ftype, mel, tokens, tensors


def _tensor_bytes(ttype, count):
    if ttype == GGML_F32:
        return 4 * count
    if ttype == GGML_F16:
        return 2 * count
    return count // QK * BLOCK_BYTES[ttype]


def quantize_blocks(x, ttype):
    """Quantise float32 values (a multiple of 32, rows contiguous) into ggml blocks, as
    ggml's reference quantisers do: q8_0 keeps scale = max|x|/127 and round(x/scale);
    q5_0 keeps scale = m/-16 (m the value of largest magnitude) and 5-bit codes
    min(31, trunc(x/scale + 16.5)), low nibbles packed two per byte and the fifth bits in
    a 32-bit mask."""
    b = x.reshape(-1, QK).astype(np.float32)
    if ttype == GGML_Q8_0:
        amax = np.abs(b).max(axis=1)
        d = amax / 127.0
        inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
        q = np.round(b * inv[:, None]).astype(np.int8)
        out = np.empty((b.shape[0], 2 + QK), dtype=np.uint8)
        out[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
        out[:, 2:] = q.view(np.uint8)
        return out.tobytes()
    if ttype == GGML_Q5_0:
        idx = np.abs(b).argmax(axis=1)
        m = b[np.arange(b.shape[0]), idx]
        d = m / -16.0
        inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1.0), 0.0)
        # C's (int8_t)(v + 16.5) truncates toward zero; v + 16.5 is >= 0.5 here.
        q = np.minimum(31, np.trunc(b * inv[:, None] + 16.5)).astype(np.uint8)
        lo, hi = q[:, :16], q[:, 16:]
        qs = (lo & 0x0F) | ((hi & 0x0F) << 4)
        bits = np.concatenate([(lo >> 4) & 1, (hi >> 4) & 1], axis=1).astype(np.uint32)
        qh = (bits << np.arange(32, dtype=np.uint32)).sum(axis=1, dtype=np.uint64)
        out = np.empty((b.shape[0], 2 + 4 + 16), dtype=np.uint8)
        out[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
        out[:, 2:6] = qh.astype("<u4").view(np.uint8).reshape(-1, 4)
        out[:, 6:] = qs
        return out.tobytes()
    raise ConversionError(f"unknown quantisation type {ttype}")


def quantize(in_path, out_path, kind):
    if kind not in QUANT_TYPES:
        raise ConversionError(f"unknown quantisation {kind!r} (use q8_0 or q5_0)")
    qtype, ftype_out = QUANT_TYPES[kind]
    hp, ftype, mel, tokens, tensors = read_ggml(in_path)
    if ftype != 1:
        raise ConversionError(f"{in_path}: ftype {ftype}; quantise an f16 model")
    with open(in_path, "rb") as f:
        buf = f.read()
    out_dir = os.path.dirname(os.path.abspath(out_path))
    tmp = os.path.join(out_dir, f".{os.path.basename(out_path)}.tmp.{os.getpid()}")
    n_quant = 0
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<i", GGML_MAGIC))
            f.write(struct.pack("<10i", *(hp[k] for k in HPARAM_ORDER)))
            f.write(struct.pack("<i", ftype_out))
            f.write(struct.pack("<ii", *mel.shape))
            f.write(mel.astype("<f4").tobytes())
            f.write(struct.pack("<i", len(tokens)))
            for tok in tokens:
                f.write(struct.pack("<i", len(tok)))
                f.write(tok)
            for name, shape, ttype, offset in tensors:
                count = 1
                for d in shape:
                    count *= d
                data = buf[offset:offset + _tensor_bytes(ttype, count)]
                # whisper.cpp makes every 2-D weight the file's type; conv kernels (3-D)
                # stay f16 and everything f32 stays f32.
                if ttype == GGML_F16 and len(shape) == 2 and shape[-1] % QK == 0:
                    x = np.frombuffer(data, dtype="<f2").astype(np.float32)
                    data, ttype = quantize_blocks(x, qtype), qtype
                    n_quant += 1
                raw = name.encode("utf-8")
                f.write(struct.pack("<iii", len(shape), len(raw), ttype))
                f.write(struct.pack(f"<{len(shape)}i", *reversed(shape)))
                f.write(raw)
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    print(f"ct2_to_ggml: wrote {out_path} ({os.path.getsize(out_path)} bytes, {kind}, "
          f"{n_quant} of {len(tensors)} tensors quantised)", file=sys.stderr)


def verify(path):
    hp, ftype, mel, tokens, tensors = read_ggml(path)
    size = os.path.getsize(path)
    print(f"{path}: {size} bytes")
    print("hparams: " + " ".join(f"{k}={v}" for k, v in hp.items()) + f" ftype={ftype}")
    print(f"mel filters: {mel.shape[0]}x{mel.shape[1]}, sum {float(mel.sum()):.6f}, "
          f"max {float(mel.max()):.6f}")
    print(f"vocab: {len(tokens)} tokens, first {tokens[0]!r}, last {tokens[-1]!r}")
    for name, shape, ttype, _ in tensors:
        tname = {GGML_F32: "f32", GGML_F16: "f16", GGML_Q5_0: "q5_0", GGML_Q8_0: "q8_0"}[ttype]
        print(f"  {name:45s} {tname} {list(shape)}")
    print(f"tensors: {len(tensors)}")
    problems = []
    names = [t[0] for t in tensors]
    if len(set(names)) != len(names):
        problems.append("duplicate tensor names")
    expected = set(expected_tensor_names(hp))
    missing = sorted(expected - set(names))
    extra = sorted(set(names) - expected)
    if missing:
        problems.append("missing: " + ", ".join(missing))
    if extra:
        problems.append("not loaded by whisper.cpp: " + ", ".join(extra))
    if mel.shape != (hp["n_mels"], N_FFT // 2 + 1):
        problems.append(f"mel filter shape {mel.shape}")
    if len(tokens) > hp["n_vocab"]:
        problems.append(f"{len(tokens)} tokens > n_vocab {hp['n_vocab']}")
    shapes = dict((t[0], t[1]) for t in tensors)
    if shapes.get("decoder.token_embedding.weight", (None,))[0] != hp["n_vocab"]:
        problems.append("token embedding rows != n_vocab")
    if problems:
        for p in problems:
            print("PROBLEM: " + p)
        return 1
    print("OK: tensor set matches what whisper.cpp expects")
    return 0


# ---------------------------------------------------------------------------

def convert(in_dir, out_path):
    for fname in ("model.bin", "config.json", "vocabulary.txt"):
        if not os.path.isfile(os.path.join(in_dir, fname)):
            raise ConversionError(f"{in_dir}: missing {fname} (expected a CTranslate2 Whisper "
                                  f"model directory with model.bin, config.json, vocabulary.txt)")
    try:
        with open(os.path.join(in_dir, "config.json"), encoding="utf-8") as f:
            json.load(f)  # only checked for sanity; all hyper-parameters come from the tensors
    except (ValueError, UnicodeDecodeError) as e:
        raise ConversionError(f"{in_dir}/config.json is not valid JSON: {e}") from None
    variables, aliases = read_ct2_model(os.path.join(in_dir, "model.bin"))
    hparams, tensors = map_tensors(variables, aliases)
    tokens, n_lines = read_vocab(os.path.join(in_dir, "vocabulary.txt"))
    if n_lines != hparams["n_vocab"]:
        raise ConversionError(f"vocabulary.txt has {n_lines} tokens but the embedding has "
                              f"{hparams['n_vocab']} rows")
    filters = mel_filters(hparams["n_mels"])
    write_ggml(out_path, hparams, filters, tokens, tensors)
    print(f"ct2_to_ggml: wrote {out_path} ({os.path.getsize(out_path)} bytes, "
          f"{len(tensors)} tensors, {len(tokens)} vocab entries; "
          + ", ".join(f"{k}={v}" for k, v in hparams.items()) + ")", file=sys.stderr)


def main(argv):
    if len(argv) == 4 and argv[0] == "--quantize":
        try:
            quantize(argv[2], argv[3], argv[1])
        except (ConversionError, OSError) as e:
            print(f"ct2_to_ggml: error: {e}", file=sys.stderr)
            return 1
        return 0
    if len(argv) == 2 and argv[0] == "--verify":
        try:
            return verify(argv[1])
        except (ConversionError, OSError) as e:
            print(f"ct2_to_ggml: {e}", file=sys.stderr)
            return 1
    if len(argv) != 2 or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        convert(argv[0], argv[1])
    except (ConversionError, OSError) as e:
        print(f"ct2_to_ggml: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
