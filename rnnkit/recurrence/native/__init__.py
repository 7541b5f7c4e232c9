"""Compiled loops for the hand-written BPTT kernels (C, loaded with ctypes) — optional, with a fallback.

At hidden sizes like 128 a recurrent step's arithmetic is small and the ~10–20 torch operations per step that express
it cost more in dispatch and memory passes than in work. ``lnrnn.c`` does one step's elementwise half of the
layer-normalised LSTM/GRU (norm, gates, cell, and their derivatives) in one pass per row, ``feedback.c`` the
elementwise parts of a Gated-Feedback tanh layer's step; ``lnseq.c`` and ``fbseq.c`` run those steps over a whole
sequence with the recurrent products in between, done by ``gemm.c`` (a register-tiled matrix product, also behind
``rnnkit.recurrence.projection``), so no step returns to Python. ``minimal.c`` runs minGRU/minLSTM's gate math and
linear recurrence over a whole sequence in one call each way (no matrix in their loop). The whole-sequence calls cut
the batch's rows into one range per torch thread and run them at once on torch's own OpenMP threads (``pieces.h``;
``sequence`` gives such a call). ``lstmseq.c`` runs the plain LSTM, GRU and SimpleRNN the same way.

The files are plain C with no torch headers: they compile in about a second, so they are built on first use with the
system's C compiler (``$CC``, else ``cc``, ``gcc``, ``clang``) for this CPU (``-O3 -march=native -ffast-math
-fopenmp``; the fast-math flag is what lets the compiler call glibc's vectorised ``exp``/``tanh``; without OpenMP it
builds without it) into a cache folder (``$RNNKIT_NATIVE_CACHE``, else ``$XDG_CACHE_HOME/rnnkit`` or
``~/.cache/rnnkit``, else ``rnnkit-<uid>`` in the temp dir; only a folder no one else can write to), named by a hash
of the source, the flags and the CPU, and written atomically. Without a compiler, off Linux, or with
``RNNKIT_NATIVE=0``, the kernels run their torch-operation path (same equations; GPUs and dtypes other than
float32/float64 always do). ``status()`` says which and why.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

SOURCES = [Path(__file__).with_name(n) for n in ("gemm.c", "lnrnn.c", "lnseq.c", "minimal.c", "feedback.c",
                                                 "fbseq.c", "lstmseq.c")]
HEADERS = [Path(__file__).with_name(n) for n in ("pieces.h", "activations.h")]
FLAG_SETS = (["-O3", "-march=native", "-ffast-math", "-fopenmp"], ["-O3", "-march=native", "-ffast-math"],
             ["-O3", "-ffast-math"])

_lock = threading.Lock()
_state: dict = {}


def _cpu() -> str:
    """The CPU's model and instruction-set flags (``-march=native`` code is only reused on a CPU with the same ones)."""
    seen: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key = line.split(":")[0].strip()
            if key in ("model name", "flags", "Features") and key not in seen:
                seen[key] = line
    except OSError:
        pass
    return "\n".join(seen.values()) or platform.processor()


def _cache_dirs() -> list[Path]:
    """Where the library may be built: the configured cache, then a private folder in the temp dir (read-only home)."""
    if os.environ.get("RNNKIT_NATIVE_CACHE"):
        return [Path(os.environ["RNNKIT_NATIVE_CACHE"])]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [Path(base) / "rnnkit", Path(tempfile.gettempdir()) / f"rnnkit-{os.getuid()}"]


def _private(folder: Path) -> Path:
    """``folder``, created if needed, when only this user can write to it (a library is loaded from there: a folder
    others can write to, e.g. a shared temp dir made by someone else, could hand us their code)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise OSError(f"{folder} is not private to this user (owner uid {st.st_uid}, mode {oct(st.st_mode & 0o777)})")
    return folder


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _build() -> tuple[ctypes.CDLL | None, str]:
    if os.environ.get("RNNKIT_NATIVE", "1") == "0":
        return None, "disabled by RNNKIT_NATIVE=0"
    if platform.system() != "Linux":
        return None, f"not built on {platform.system()} (Linux only)"
    cc = _compiler()
    if cc is None:
        return None, "no C compiler found ($CC, cc, gcc, clang)"
    source = b"".join(p.read_bytes() for p in SOURCES + HEADERS)
    errors = []
    for flags, folder in ((f, d) for f in FLAG_SETS for d in _cache_dirs()):
        key = hashlib.sha256(source + " ".join([cc, *flags, platform.machine(), _cpu()]).encode()).hexdigest()[:16]
        target = folder / f"steps-{key}.so"
        try:
            _private(folder)
            if not target.exists():
                fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
                os.close(fd)
                try:
                    subprocess.run([cc, *flags, "-shared", "-fPIC", *map(str, SOURCES), "-o", tmp, "-lm"], check=True,
                                   capture_output=True, timeout=120)
                    os.replace(tmp, target)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            return _declare(ctypes.CDLL(str(target))), f"compiled ({' '.join(flags)}): {target}"
        except (OSError, subprocess.SubprocessError) as e:
            detail = getattr(e, "stderr", b"") or b""
            errors.append(f"{' '.join(flags)} in {folder}: {e} {detail.decode(errors='replace')[:300]}".strip())
    return None, "build failed: " + " | ".join(errors)


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    L, P = ctypes.c_long, ctypes.c_void_p
    lib.native_openmp.restype, lib.native_openmp.argtypes = ctypes.c_int, []
    for sfx, real in (("f32", ctypes.c_float), ("f64", ctypes.c_double)):
        getattr(lib, f"lnlstm_forward_{sfx}").argtypes = [L] * 5 + [real] + [P] * 13
        getattr(lib, f"lnlstm_backward_{sfx}").argtypes = [L] * 5 + [P] * 20
        getattr(lib, f"lngru_forward_{sfx}").argtypes = [L] * 5 + [real] + [P] * 9
        getattr(lib, f"lngru_backward_{sfx}").argtypes = [L] * 5 + [P] * 16
        getattr(lib, f"gemm_{sfx}").argtypes = [L, L, L, P, L, L, P, L, P, L, ctypes.c_int]
        getattr(lib, f"gemm_pieces_{sfx}").argtypes = [L, L, L, L, P, L, L, P, L, P, L, ctypes.c_int, P]
        getattr(lib, f"lnlstm_sequence_forward_{sfx}").argtypes = [L] * 4 + [real] + [P] * 14
        getattr(lib, f"lnlstm_sequence_backward_{sfx}").argtypes = [L] * 5 + [P] * 23
        getattr(lib, f"lngru_sequence_forward_{sfx}").argtypes = [L] * 4 + [real] + [P] * 10
        getattr(lib, f"lngru_sequence_backward_{sfx}").argtypes = [L] * 5 + [P] * 18
        getattr(lib, f"fb_tanh_sequence_forward_{sfx}").argtypes = [L] * 5 + [P] * 11
        getattr(lib, f"fb_tanh_sequence_backward_{sfx}").argtypes = [L] * 5 + [P] * 10
        getattr(lib, f"lstm_sequence_forward_{sfx}").argtypes = [L] * 4 + [P] * 8
        getattr(lib, f"gru_sequence_forward_{sfx}").argtypes = [L] * 4 + [P] * 6
        getattr(lib, f"rnn_sequence_forward_{sfx}").argtypes = [L] * 5 + [P] * 5
        getattr(lib, f"rnn_sequence_backward_{sfx}").argtypes = [L] * 5 + [P] * 7
        getattr(lib, f"gru_sequence_backward_{sfx}").argtypes = [L] * 4 + [P] * 11
        getattr(lib, f"lstm_sequence_backward_{sfx}").argtypes = [L] * 4 + [P] * 11
        getattr(lib, f"minimal_forward_{sfx}").argtypes = [L] * 6 + [P] * 4
        getattr(lib, f"minimal_backward_{sfx}").argtypes = [L] * 6 + [P] * 7
        getattr(lib, f"minimal_sequence_forward_{sfx}").argtypes = [L] * 5 + [P] * 4
        getattr(lib, f"minimal_sequence_backward_{sfx}").argtypes = [L] * 5 + [P] * 7
        getattr(lib, f"fb_gates_{sfx}").argtypes = [L, L, L, P, L, P, P, P, P, P, P, L]
        getattr(lib, f"fb_act_{sfx}").argtypes = [L, L, L, P, L, L, P, P, P, P, P]
        getattr(lib, f"fb_delta_{sfx}").argtypes = [L, L, P, L, P, L, P, P, L]
        getattr(lib, f"fb_gate_back_{sfx}").argtypes = [L, L, L, P, L, P, P, P, P, P, P, P, L]
        for name in ("lnlstm_forward", "lnlstm_backward", "lngru_forward", "lngru_backward", "minimal_forward",
                     "minimal_backward", "fb_gates", "fb_act", "fb_delta", "fb_gate_back", "gemm", "gemm_pieces",
                     "lnlstm_sequence_forward", "lnlstm_sequence_backward", "lngru_sequence_forward",
                     "lngru_sequence_backward",
                     "fb_tanh_sequence_forward", "fb_tanh_sequence_backward", "minimal_sequence_forward",
                     "minimal_sequence_backward", "lstm_sequence_forward", "lstm_sequence_backward",
                     "gru_sequence_forward", "gru_sequence_backward", "rnn_sequence_forward", "rnn_sequence_backward"):
            getattr(lib, f"{name}_{sfx}").restype = None
    return lib


def _library() -> ctypes.CDLL | None:
    with _lock:
        if "lib" not in _state:
            _state["lib"], _state["why"] = _build()
        return _state["lib"]


def status() -> str:
    """Whether the compiled steps are in use, and why (the library's path, or the reason for the fallback)."""
    _library()
    return ("in use: " if _state["lib"] is not None else "not in use: ") + _state["why"]


_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


def function(name: str, *tensors: torch.Tensor | None):
    """The compiled ``name`` for the tensors' dtype, or None when the torch path must run (not CPU float32/float64,
    being traced by torch.compile, or no library)."""
    first = tensors[0]
    if first.device.type != "cpu" or first.dtype not in _SUFFIX or torch.compiler.is_compiling():
        return None
    if any(t is not None and (t.device.type != "cpu" or t.dtype != first.dtype) for t in tensors):
        return None
    lib = _library()
    return None if lib is None else getattr(lib, f"{name}_{_SUFFIX[first.dtype]}")


def openmp() -> bool:
    """Whether the library was built with OpenMP (its parallel loops then run on torch's own OpenMP threads)."""
    lib = _library()
    return lib is not None and bool(lib.native_openmp())


class Sequence:
    """A compiled whole-sequence loop (``lnseq.c``, ``fbseq.c``): called with the number of pieces its batch rows
    are cut into — one per torch thread (fewer with fewer rows), run at once on torch's OpenMP threads — then the
    loop's own arguments. ``rmax`` is the number of rows in the largest piece (for per-piece buffers)."""

    def __init__(self, f, B: int):
        self.f = f
        self.pieces = max(1, min(torch.get_num_threads(), B))
        self.rmax = -(-B // self.pieces)

    def __call__(self, *args) -> None:
        self.f(self.pieces, *args)


#: a whole-sequence loop multiplies every piece of rows by the recurrent weight(s) in every step; above this many bytes
#: of weight the per-step path wins (its packed oneDNN product passes over the weight once for all rows): measured on
#: this project's 2-core machine, a GRU at hidden 512 (3 MB) 1.35× faster whole, at 1024 (12.6 MB) 1.16× slower
WEIGHT_BYTES_MAX = 6 << 20


def sequence(name: str, B: int, *tensors: torch.Tensor | None, weight_bytes: int = 0) -> Sequence | None:
    """The whole-sequence loop ``name`` for a batch of B rows of these tensors, or None where the caller must step
    from Python: ``function`` says none, the recurrent weights are larger than ``WEIGHT_BYTES_MAX``, or the library
    has no OpenMP while torch runs several threads (the per-step loop then keeps torch's threaded products)."""
    f = function(name, *tensors)
    if f is None or weight_bytes > WEIGHT_BYTES_MAX or not (openmp() or torch.get_num_threads() == 1):
        return None
    return Sequence(f, B)


def nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def addresses(ts) -> ctypes.Array:
    """A C array of the tensors' addresses (NULL for None), for the loops that take one pointer per layer; keep it
    alive across the call (pass ``ctypes.addressof`` of it)."""
    return (ctypes.c_void_p * len(ts))(*(None if t is None else t.data_ptr() for t in ts))


def ptr(t: torch.Tensor | None) -> int | None:
    """The address of a contiguous tensor's first element (None for None: a NULL pointer)."""
    if t is None:
        return None
    assert t.is_contiguous()
    return t.data_ptr()


__all__ = ["status", "function", "ptr", "openmp", "sequence", "Sequence", "addresses", "nbytes", "WEIGHT_BYTES_MAX"]
