"""The training kernels as Python calls, from a compiled library or, failing that, numba's JIT.

w2v/kernels.py holds the kernels' source, written for numba. Importing numba and loading its
LLVM costs about 130 MB of memory and a second in every process, more than all of gensim. So the
first run compiles the kernels once, with numba and for this CPU (what the JIT would generate),
in a separate process, into a small shared library cached beside this file (in __pycache__, or
$W2V_HOME/kernels when that is not writable); every run then calls the library through ctypes,
which releases the GIL, so Hogwild threads run in parallel. Training never imports numba.

The kernels allocate nothing: the functions here allocate their outputs and scratch space. That
is what lets them live outside numba's runtime. If the library cannot be built (no C compiler,
say), the same kernels run under numba's JIT, after a one-line warning; W2V_KERNELS=jit asks for
the JIT outright.

    python -m w2v.native PATH    builds the library at PATH (what the first run does)
"""
import ctypes
import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import threading

import numpy as np

from .home import default_home

# Each exported kernel: return type and argument types. "T" is a scalar of type T, "T*" a
# C-contiguous array of T that the kernel only reads, "T!" one it writes. The library's functions
# are w2v_<name>; the cfuncs that make them are in _compile().
SIGNATURES = {
    "prepare_chunk": ("i64", ["u32*", "i64", "i32*", "i64", "f32*", "i64", "u64", "i32!", "u64!"]),
    "neg_chunk": ("i64", ["i32*", "i64", "f32!", "f32!", "i64", "i64", "f32!", "f32!", "i64", "i64",
                          "f32*", "i32*", "i64", "i64", "i64", "i64", "f32", "u64", "i32!", "i32!",
                          "i32!", "f32!", "f32!", "f64!", "u64!"]),
    "skipgram_pairs": ("i64", ["i32*", "i64", "i64", "u64", "i32!", "i32!", "u64!"]),
    "scatter_add_rows": ("i64", ["f32!", "i64", "i64", "i32*", "i64", "f32*", "f32"]),
    "build_alias": ("i64", ["f64!", "i64", "f32!", "i32!", "i64!", "i64!"]),
    "draw_many": ("u64", ["f32*", "i32*", "i64", "u64", "i32!", "i64"]),
}

_DTYPES = {"i32": np.dtype(np.int32), "u32": np.dtype(np.uint32), "i64": np.dtype(np.int64),
           "u64": np.dtype(np.uint64), "f32": np.dtype(np.float32), "f64": np.dtype(np.float64)}


def _is_array(code):
    return code[-1] in "*!"


def _dtype(code):
    """The numpy dtype of a signature code, scalar or array."""
    return _DTYPES[code.rstrip("*!")]


# What numba's generated code may call outside the kernels once numba's runtime is absent: the
# GIL, taken only to report an error, and error and reference-count paths the kernels never take
# (they raise nothing and allocate nothing). No Python.h needed.
_SHIM_C = r"""
#include <stdio.h>
#include <stdlib.h>
typedef int PyGILState_STATE;
extern PyGILState_STATE PyGILState_Ensure(void);
extern void PyGILState_Release(PyGILState_STATE);
void numba_gil_ensure(PyGILState_STATE *s) { *s = PyGILState_Ensure(); }
void numba_gil_release(PyGILState_STATE *s) { PyGILState_Release(*s); }
static void unexpected(const char *what) {
    fprintf(stderr, "w2v: a compiled kernel failed (%s); rerun with W2V_KERNELS=jit for the "
                    "Python error\n", what);
    abort();
}
int numba_do_raise(void *exc) { unexpected("raise"); return -1; }
void *numba_unpickle(const char *data, int n, const char *hashed) { unexpected("raise"); return 0; }
void *numba_runtime_build_excinfo_struct(void *a, void *b) { unexpected("raise"); return 0; }
void NRT_MemInfo_call_dtor(void *mi) { unexpected("free"); }
void NRT_Free(void *p) { unexpected("free"); }
"""


# ---- the Python-facing kernels: allocate, then call whichever backend is loaded ----

def prepare_chunk(raw, remap, keep, state):
    """Raw corpus ids -> (training ids, new state); see kernels.prepare_chunk."""
    out = np.empty(len(raw), dtype=np.int32)
    n, state = backend().prepare_chunk(raw, remap, keep, np.uint64(state), out)
    return out[:n], np.uint64(state)


def neg_chunk(sen, V, U, alias_prob, alias_idx, window, K, shared, alpha, state, V_hot=None,
              U_hot=None):
    """Negative sampling over a prepared chunk, V and U in place: (cost, pairs, new state).

    V_hot, U_hot: the calling thread's own copies of the first rows of V and U, trained instead
    of them (see steps.make_neg_step); by default none.
    """
    d = V.shape[1]
    no_rows = np.empty((0, d), np.float32)
    cost, pairs, state = backend().neg_chunk(
        sen, V, U, no_rows if V_hot is None else V_hot, no_rows if U_hot is None else U_hot,
        alias_prob, alias_idx, window, K, bool(shared), np.float32(alpha), np.uint64(state),
        np.empty(2 * window, np.int32), np.empty(K + 1, np.int32), np.empty((2, K), np.int32),
        np.zeros((2 * window, d), np.float32), np.zeros((2 * window, K + 1), np.float32))
    return float(cost), int(pairs), np.uint64(state)


def skipgram_pairs(sen, window, state):
    """All (input, output) pairs of a prepared chunk: (inputs, outputs, new state), int32."""
    inputs = np.empty(2 * window * len(sen), dtype=np.int32)
    outputs = np.empty_like(inputs)
    m, state = backend().skipgram_pairs(sen, window, np.uint64(state), inputs, outputs)
    return inputs[:m], outputs[:m], np.uint64(state)


def scatter_add_rows(M, rows, G, scale):
    """M[rows[i]] += scale * G[i] for every i, in place."""
    backend().scatter_add_rows(M, rows, G, np.float32(scale))


def build_alias(p):
    """Vose's alias tables for the distribution p: (prob float32, alias int32)."""
    W = len(p)
    prob, alias = np.empty(W, np.float32), np.empty(W, np.int32)
    backend().build_alias(np.asarray(p, np.float64) * W, prob, alias, np.empty(W, np.int64),
                          np.empty(W, np.int64))
    return prob, alias


def draw_many(alias_prob, alias_idx, n, state):
    """n draws from an alias table with the kernels' generator: (int32 draws, new state)."""
    out = np.empty(n, dtype=np.int32)
    state = backend().draw_many(alias_prob, alias_idx, np.uint64(state), out)
    return out, np.uint64(state)


# ---- the compiled library, behind the same calls as the numba kernels ----

def _ctype(code):
    """The ctypes type a signature code is passed as: arrays as their data address."""
    return ctypes.c_void_p if _is_array(code) else np.ctypeslib.as_ctypes_type(_dtype(code))


def _pointer(a, code):
    """a's data address, after checking it is a C-contiguous array of the type code says.

    Arrays the kernel writes ("T!") must already be right (a copy would lose the writes); arrays
    it only reads are converted. Returns (address, the array to keep alive during the call).
    """
    dtype = _dtype(code)
    if not isinstance(a, np.ndarray) or a.dtype != dtype or not a.flags.c_contiguous:
        if code.endswith("!"):
            raise TypeError(f"a kernel writes this array: it must be C-contiguous {dtype}")
        a = np.ascontiguousarray(a, dtype=dtype)
    return a.ctypes.data, a


class Library:
    """The compiled kernels, called with arrays as the numba kernels are."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        for name, (restype, argtypes) in SIGNATURES.items():
            fn = getattr(lib, "w2v_" + name)
            fn.restype = _ctype(restype)
            fn.argtypes = [_ctype(t) for t in argtypes]
        self._lib, self.path = lib, path

    def _call(self, name, *args):
        """Call w2v_<name>; array arguments are expanded to pointers (checked), scalars passed."""
        values, keep_alive = [], []
        for code, value in zip(SIGNATURES[name][1], args):
            if _is_array(code):
                address, array = _pointer(value, code)
                values.append(address)
                keep_alive.append(array)
            else:
                values.append(value)
        return getattr(self._lib, "w2v_" + name)(*values)

    def prepare_chunk(self, raw, remap, keep, state, out):
        state_out = np.zeros(1, np.uint64)
        n = self._call("prepare_chunk", raw, len(raw), remap, len(remap), keep, len(keep),
                       int(state), out, state_out)
        return n, state_out[0]

    def neg_chunk(self, sen, V, U, V_hot, U_hot, alias_prob, alias_idx, window, K, shared, alpha,
                  state, inputs, targets, ahead, grad_in, G):
        if V.shape != U.shape or V_hot.shape[1:] != V.shape[1:] or U_hot.shape[1:] != U.shape[1:]:
            raise ValueError("V, U and their hot rows must have the same width")
        cost_out, state_out = np.zeros(1, np.float64), np.zeros(1, np.uint64)
        pairs = self._call("neg_chunk", sen, len(sen), V, U, V.shape[0], V.shape[1], V_hot, U_hot,
                           len(V_hot), len(U_hot), alias_prob, alias_idx, len(alias_prob), window, K,
                           int(shared), float(alpha), int(state), inputs, targets, ahead, grad_in, G,
                           cost_out, state_out)
        return cost_out[0], pairs, state_out[0]

    def skipgram_pairs(self, sen, window, state, inputs, outputs):
        state_out = np.zeros(1, np.uint64)
        m = self._call("skipgram_pairs", sen, len(sen), window, int(state), inputs, outputs,
                       state_out)
        return m, state_out[0]

    def scatter_add_rows(self, M, rows, G, scale):
        if G.shape != (len(rows), M.shape[1]):
            raise ValueError("G must have one row of M's width per row index")
        self._call("scatter_add_rows", M, M.shape[0], M.shape[1], rows, len(rows), G, float(scale))

    def build_alias(self, scaled, prob, alias, small, large):
        self._call("build_alias", scaled, len(scaled), prob, alias, small, large)

    def draw_many(self, alias_prob, alias_idx, state, out):
        return np.uint64(self._call("draw_many", alias_prob, alias_idx, len(alias_prob), int(state),
                                    out, len(out)))


# ---- which backend: load (building once) the library, else numba's JIT ----

_BACKEND = None
_LOCK = threading.Lock()


def backend(log=None):
    """The loaded kernels: a Library, or the numba module w2v.kernels. Builds the library on first
    use; log(message) hears about a build or a fallback (default: nothing is printed)."""
    global _BACKEND
    if _BACKEND is None:
        with _LOCK:
            if _BACKEND is None:
                _BACKEND = _load(log or (lambda message: None))
    return _BACKEND


def _load(log):
    if os.environ.get("W2V_KERNELS", "native") == "jit":
        return _jit()
    path = library_path()
    if os.path.exists(path):
        try:
            return Library(path)
        except OSError:  # damaged, or built against another Python: build it again
            pass
    log("compiling the training kernels for this machine (once, a few seconds)")
    error = _build_in_subprocess(path)
    if error:
        log(f"warning: could not build the compiled kernels ({error}); using numba's JIT")
        return _jit()
    try:
        return Library(path)
    except OSError as e:
        log(f"warning: could not load {path} ({e}); using numba's JIT")
        return _jit()


def describe():
    """Which kernels run: for the run's JSON sidecar."""
    loaded = backend()
    return f"compiled library {loaded.path}" if isinstance(loaded, Library) else "numba JIT"


def _jit():
    from . import kernels
    return kernels


def library_path():
    """Where this machine's library lives: named by everything its code depends on."""
    here = os.path.dirname(os.path.abspath(__file__))
    key = hashlib.sha256()
    for name in ("kernels.py", "native.py"):
        with open(os.path.join(here, name), "rb") as f:
            key.update(f.read())
    for package in ("numba", "llvmlite", "numpy"):
        key.update(importlib.metadata.version(package).encode())
    key.update(f"{sys.version}|{platform.machine()}|{_cpu_identity()}".encode())
    name = f"w2v_kernels-{key.hexdigest()[:16]}{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"
    folder = os.path.join(here, "__pycache__")
    try:
        os.makedirs(folder, exist_ok=True)
        if os.access(folder, os.W_OK):
            return os.path.join(folder, name)
    except OSError:
        pass
    return os.path.join(default_home(), "kernels", name)


def _cpu_identity():
    """The CPU's model and instruction-set flags: the library is compiled for exactly these."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [line for line in f if line.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor()


def _build_in_subprocess(path):
    """Run `python -m w2v.native PATH`; returns None, or the reason it failed in one line."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as numba_cache:
        # An empty numba cache: the build needs the kernels' LLVM IR, which cached code lacks.
        # This w2v, wherever it was imported from, must be the one the child imports.
        env = dict(os.environ, NUMBA_CACHE_DIR=numba_cache,
                   PYTHONPATH=os.pathsep.join(filter(None, [package_parent,
                                                            os.environ.get("PYTHONPATH")])))
        try:
            proc = subprocess.run([sys.executable, "-m", "w2v.native", path], env=env,
                                  capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as e:
            return str(e)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {proc.returncode}"
    return None


def _compile():
    """The kernels as C-callable functions (numba cfuncs over raw pointers): {name: cfunc}."""
    from numba import carray, cfunc, from_dtype, types

    from . import kernels

    def signature(name):
        restype, argtypes = SIGNATURES[name]
        args = [types.CPointer(from_dtype(_dtype(t))) if _is_array(t) else from_dtype(_dtype(t))
                for t in argtypes]
        return from_dtype(_dtype(restype))(*args)

    def export(fn):
        return cfunc(signature(fn.__name__), error_model="numpy")(fn)

    @export
    def prepare_chunk(raw, n, remap, n_full, keep, W, state, out, state_out):
        m, state_out[0] = kernels.prepare_chunk(carray(raw, n), carray(remap, n_full),
                                                carray(keep, W), state, carray(out, n))
        return m

    @export
    def neg_chunk(sen, n, V, U, W, d, V_hot, U_hot, n_V_hot, n_U_hot, alias_prob, alias_idx,
                  n_alias, window, K, shared, alpha, state, inputs, targets, ahead, grad_in, G,
                  cost_out, state_out):
        cost, pairs, state_out[0] = kernels.neg_chunk(
            carray(sen, n), carray(V, (W, d)), carray(U, (W, d)), carray(V_hot, (n_V_hot, d)),
            carray(U_hot, (n_U_hot, d)), carray(alias_prob, n_alias),
            carray(alias_idx, n_alias), window, K, shared != 0, alpha, state,
            carray(inputs, 2 * window), carray(targets, K + 1), carray(ahead, (2, K)),
            carray(grad_in, (2 * window, d)), carray(G, (2 * window, K + 1)))
        cost_out[0] = cost
        return pairs

    @export
    def skipgram_pairs(sen, n, window, state, inputs, outputs, state_out):
        size = 2 * window * n
        m, state_out[0] = kernels.skipgram_pairs(carray(sen, n), window, state, carray(inputs, size),
                                                 carray(outputs, size))
        return m

    @export
    def scatter_add_rows(M, W, d, rows, n, G, scale):
        kernels.scatter_add_rows(carray(M, (W, d)), carray(rows, n), carray(G, (n, d)), scale)
        return 0

    @export
    def build_alias(scaled, W, prob, alias, small, large):
        kernels.build_alias(carray(scaled, W), carray(prob, W), carray(alias, W), carray(small, W),
                            carray(large, W))
        return 0

    @export
    def draw_many(alias_prob, alias_idx, W, state, out, n):
        return kernels.draw_many(carray(alias_prob, W), carray(alias_idx, W), state, carray(out, n))

    return {name: value for name, value in locals().items() if name in SIGNATURES}


def build(path):
    """Compile the kernels to one object file for this CPU and link it into a library at path."""
    import llvmlite.binding as llvm

    module = None
    for name, fn in _compile().items():
        part = llvm.parse_assembly(fn.inspect_llvm())
        for symbol in [*part.functions, *part.global_variables]:
            if not symbol.is_declaration:  # private to the library but for the entry point
                symbol.linkage = "internal"
        entry = part.get_function(fn.native_name)
        entry.linkage, entry.name = "external", "w2v_" + name
        if module is None:
            module = part
        else:
            module.link_in(part)
    module.verify()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3,
        reloc="pic", codemodel="default")
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.TemporaryDirectory() as tmp:
        objects = os.path.join(tmp, "kernels.o")
        with open(objects, "wb") as f:
            f.write(machine.emit_object(module))
        shim = os.path.join(tmp, "shim.c")
        with open(shim, "w") as f:
            f.write(_SHIM_C)
        fd, partial = tempfile.mkstemp(dir=folder, prefix=".w2v_kernels-", suffix=".so")
        os.close(fd)
        try:
            compiler = os.environ.get("CC") or "cc"
            # Python's own symbols are found in the process that loads the library
            python_symbols = ["-undefined", "dynamic_lookup"] if sys.platform == "darwin" else []
            subprocess.run([compiler, "-shared", "-fPIC", "-O2", *python_symbols, "-o", partial,
                            objects, shim, "-lm"], check=True, capture_output=True, text=True)
            Library(partial)  # every entry point resolves
            os.chmod(partial, 0o755)
            os.replace(partial, path)
        except BaseException:
            os.unlink(partial)
            raise


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m w2v.native PATH")
    try:
        build(sys.argv[1])
    except subprocess.CalledProcessError as e:
        sys.exit(f"{e.cmd[0]} failed: {(e.stderr or '').strip().splitlines()[-1:] or e.returncode}")
    except OSError as e:
        sys.exit(f"cannot build: {e}")
