"""The training kernels (w2v/kernels.c) compiled for this machine and called through ctypes.

The first run compiles kernels.c with the system C compiler ($CC, else `cc`) into a small shared
library, cached in w2v/__pycache__ (or $W2V_HOME/kernels when that is not writable; the variable
W2V_KERNELS_DIR names another folder) under a name made from everything the machine code depends
on: the source, the compiler's version, the flags and the CPU. Every later run loads it in
milliseconds. A damaged library is built again. Without a C compiler training stops with one line
saying what to install (W2VError).

ctypes releases the GIL during each call, so Hogwild threads run the kernels in parallel. Each
kernel's parameters are declared once, in kernels.c itself: this module reads their types and
names from the definitions and the arrays' shapes from the comments above them (see the top of
kernels.c), and checks every array's dtype, layout and shape before its pointer is passed.

This module does not decide what to train: w2v/steps.py and w2v/sgd.py call the functions below.
"""
import ctypes
import functools
import hashlib
import operator
import os
import platform
import re
import shlex
import subprocess
import tempfile
import threading

import numpy as np

from .errors import W2VError
from .home import default_home

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels.c")
FLAGS = ["-O3", "-std=c99", "-fPIC", "-shared",
         # let the compiler reorder float sums, so that dot products use vector registers; not
         # -ffast-math, which can switch the whole process to flushing denormals to zero
         "-fno-math-errno", "-fno-trapping-math", "-fno-signed-zeros", "-fassociative-math",
         "-ffp-contract=fast"]  # fused multiply-adds, as GNU C does by default but ISO C99 does not
NATIVE_FLAGS = ["-march=native"]  # dropped if the compiler refuses it
NO_COMPILER = ("w2v needs a C compiler to build its training kernels: install gcc "
               "(Debian/Ubuntu: apt-get install gcc) or set CC")
BAD_ID, NO_MEMORY, BAD_SETTING = -1, -2, -3  # kernels.c's error returns


# ---- the Python-facing kernels: allocate the outputs, call the library ----

def prepare_chunk(raw, remap, keep, state):
    """Raw corpus ids -> (training ids, new state): out-of-vocabulary and subsampled words
    dropped, SENTENCE_BREAK (-1) between sentences; see kernels.c."""
    out = np.empty(len(raw), np.int32)
    state = np.array([state], np.uint64)
    try:
        m = backend().call("prepare_chunk", raw=raw, remap=remap, keep=keep, state=state, out=out)
    except IndexError:
        raise W2VError("the corpus's token-id cache is damaged (ids beyond its vocabulary): "
                       "delete it and run again") from None
    return out[:m], state[0]


def neg_chunk(sen, V, U, alias_prob, alias_idx, window, K, shared, alpha, state, combine=1):
    """Negative sampling over a prepared chunk, V and U trained in place: (cost, pairs, state).
    combine: C, the consecutive centre words that share one draw of negatives (shared only)."""
    state, cost = np.array([state], np.uint64), np.zeros(1)
    pairs = backend().call("neg_chunk", V=V, U=U, alias_prob=alias_prob, alias_idx=alias_idx,
                           window=window, K=K, shared=int(bool(shared)), alpha=alpha, C=combine,
                           sen=sen, state=state, cost=cost)
    return float(cost[0]), int(pairs), state[0]


def skipgram_pairs(sen, window, state):
    """All (input, output) pairs of a prepared chunk: (inputs, outputs, new state), int32."""
    inputs = np.empty(2 * window * len(sen), np.int32)
    outputs = np.empty_like(inputs)
    state = np.array([state], np.uint64)
    m = backend().call("skipgram_pairs", sen=sen, window=window, state=state, inputs=inputs,
                       outputs=outputs)
    return inputs[:m], outputs[:m], state[0]


def scatter_add_rows(M, rows, G, scale):
    """M[rows[i]] += scale * G[i] for every i, in place."""
    backend().call("scatter_add_rows", M=M, rows=rows, G=G, scale=scale)


def build_alias(p):
    """Vose's alias tables for the distribution p: (prob float32, alias int32)."""
    W = len(p)
    prob, alias = np.empty(W, np.float32), np.empty(W, np.int32)
    backend().call("build_alias", scaled=np.asarray(p, np.float64) * W, prob=prob, alias=alias)
    return prob, alias


def padded_zeros(W, d):
    """A (W, d) float32 array of zeros for V or U, its rows padded to whole 64-byte cache lines
    and aligned to them: with threads, no cache line then holds parts of two rows, so threads
    writing different rows never take lines from each other (kernels.c's NegSampling.ld)."""
    ld = -(-d // 16) * 16  # 16 floats to a line
    storage = np.zeros(W * ld + 16, np.float32)
    start = (-storage.ctypes.data % 64) // storage.itemsize
    return storage[start:start + W * ld].reshape(W, ld)[:, :d]


# ---- kernels.c's interface, read from its source ----

_TYPES = {"int32_t": (np.int32, ctypes.c_int32), "uint32_t": (np.uint32, ctypes.c_uint32),
          "int64_t": (np.int64, ctypes.c_int64), "uint64_t": (np.uint64, ctypes.c_uint64),
          "float": (np.float32, ctypes.c_float), "double": (np.float64, ctypes.c_double)}
_DECLARATION = re.compile(r"(const )?(\w+) (\*?)(\w+)$")
_FUNCTION = re.compile(r"/\*((?:[^*]|\*(?!/))*)\*/\n(int64_t|double) (\w+)\(([^)]*)\) \{")
_STRUCT = re.compile(r"typedef struct \{\n(.*?)\n\} (\w+);", re.S)
_FIELD = re.compile(r"\s*(.*?);\s*/\*\s*(\([^()]*\))?")


class Param:
    """One parameter or struct field: `const float *V` with shape "(W, d; ld)" is
    Param("V", "float", array=True, writes=False, shape=("W", "d"), pitch="ld"): rows of d values
    that start ld values apart (a 2-D view whose rows are contiguous); without "; ld" the array is
    C-contiguous."""

    def __init__(self, declaration, shape=None):
        const, self.type, star, self.name = _DECLARATION.match(declaration).groups()
        self.array, self.writes = bool(star), not const
        shape, _, pitch = (shape or "").partition(";")
        self.pitch = pitch.strip(" )") or None
        self.dtype = np.dtype(_TYPES[self.type][0]) if self.type in _TYPES else None
        self.integer = not self.array and self.dtype.kind in "iu"
        self.shape = tuple(s.strip() for s in shape.strip("()").split(",") if s.strip()) or None
        if self.array and self.dtype is not None and self.shape is None:
            raise ValueError(f"kernels.c gives no shape for the array {self.name}")

    def ctype(self, structs):
        if self.type in structs:
            return ctypes.POINTER(structs[self.type])
        return ctypes.c_void_p if self.array else _TYPES[self.type][1]


def read_interface(source):
    """kernels.c's exported functions and the structs they take:
    ({name: (restype, [Param])}, {struct name: [Param]})."""
    functions = {}
    for comment, restype, name, params in _FUNCTION.findall(source):
        declarations = [" ".join(p.split()) for p in params.split(",") if p.strip() != "void"]
        parsed = []
        for declaration in declarations:
            pname = _DECLARATION.match(declaration).group(4)
            shape = re.search(rf"(?<![\w.\[]){pname} (\([^()]*,[^()]*\))", comment)
            parsed.append(Param(declaration, shape and shape.group(1)))
        functions[name] = (restype, parsed)
    used = {p.type for _, params in functions.values() for p in params}
    structs = {name: [Param(*_FIELD.match(line).groups()) for line in body.splitlines()]
               for body, name in _STRUCT.findall(source) if name in used}
    return functions, structs


class Library:
    """The compiled kernels: library.call(name, **arrays_and_settings)."""

    def __init__(self, path, source=SOURCE):
        """The library at path, built from kernels.c (or another version of it, `source`)."""
        with open(source, encoding="utf-8") as f:
            self.functions, fields = read_interface(f.read())
        self.structs = {name: type(name, (ctypes.Structure,), {"_fields_": [
            (p.name, ctypes.c_void_p if p.array else _TYPES[p.type][1]) for p in params]})
            for name, params in fields.items()}
        self.struct_fields = fields
        lib = ctypes.CDLL(path)  # OSError if damaged
        self._entries = {}
        for name, (restype, params) in self.functions.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise OSError(f"{path} has no {name}: built from another kernels.c") from None
            fn.restype = _TYPES[restype][1]
            fn.argtypes = [p.ctype(self.structs) for p in params]
            flat = [f for p in params for f in fields.get(p.type, [p])]  # struct fields spelled out
            self._entries[name] = (fn, restype, params, flat, {p.name for p in flat})
        self.path = path
        self.call("init_tables")

    def call(self, name, **values):
        """Call kernels.c's `name` with its parameters by name; a struct parameter's fields are
        given by name too. Integer sizes named in an array's shape may be left out: they are read
        from the arrays, and every array must agree with them. Arrays must already have the dtype,
        layout and shape kernels.c declares (TypeError, ValueError): a converted copy would lose
        the kernel's writes. Negative results are kernels.c's errors: IndexError, MemoryError,
        ValueError."""
        fn, restype, params, flat, known = self._entries[name]
        if not known.issuperset(values):
            raise TypeError(f"{name} has no parameter {sorted(set(values) - known)[0]}")
        sizes = {p.name: operator.index(values[p.name]) for p in flat if p.integer and p.name in values}
        args = {}
        for p in flat:
            if p.array:
                args[p.name] = _pointer(name, p, values.get(p.name), sizes)
        for p in flat:
            if not p.array:
                if p.name not in sizes and p.name not in values:
                    raise TypeError(f"{name} needs {p.name}")
                args[p.name] = sizes[p.name] if p.integer else float(values[p.name])
        call_args = [ctypes.byref(self.structs[p.type](
                         **{f.name: args[f.name] for f in self.struct_fields[p.type]}))
                     if p.type in self.structs else args[p.name] for p in params]
        result = fn(*call_args)
        if restype == "int64_t" and result == BAD_ID:
            raise IndexError(f"{name}: an id outside the vocabulary")
        if restype == "int64_t" and result == NO_MEMORY:
            raise MemoryError(f"{name}: out of memory")
        if restype == "int64_t" and result == BAD_SETTING:
            raise ValueError(f"{name}: window must be at least 1, K at least 0 and the combined "
                             "centre words 1 to 64 (1 without shared negatives)")
        return result


def _pointer(name, p, a, sizes):
    """a's data address, once a is what kernels.c declares p to be; binds the size names of p's
    shape that sizes does not have yet (in place)."""
    if not isinstance(a, np.ndarray) or a.dtype != p.dtype or not (
            a.flags.c_contiguous or p.pitch and a.ndim == 2 and a.strides[1] == a.itemsize
            and a.strides[0] % a.itemsize == 0 and a.strides[0] >= a.shape[1] * a.itemsize):
        raise TypeError(f"{name}: {p.name} must be a C-contiguous {p.dtype} array"
                        + (" or rows of one" if p.pitch else ""))
    if p.writes and not a.flags.writeable:
        raise TypeError(f"{name}: {p.name} must be writeable")
    if a.ndim != len(p.shape):
        raise ValueError(f"{name}: {p.name} must have {len(p.shape)} dimension(s), not {a.ndim}")
    shape, declared = a.shape, p.shape
    if p.pitch:  # a C-contiguous array's rows start one row apart
        shape, declared = (*shape, a.strides[0] // a.itemsize), (*declared, p.pitch)
    for size, expression in zip(shape, declared):
        if expression.isidentifier():
            expected = sizes.setdefault(expression, size)
        else:
            expected = eval(_compiled(expression), {"__builtins__": {}}, sizes)
        if size != expected:
            raise ValueError(f"{name}: {p.name} has shape {a.shape} (rows {a.strides[0]} bytes "
                             f"apart), kernels.c says ({', '.join(declared)}) with {sizes}")
    return a.ctypes.data


@functools.lru_cache(maxsize=None)
def _compiled(expression):
    """A shape expression of kernels.c (`2 * window * n`) as Python code."""
    return compile(expression, "kernels.c", "eval")


# ---- loading the library, building it once ----

_BACKEND = None
_LOCK = threading.Lock()


def backend(log=None):
    """The loaded Library, built on first use; log(message) hears about a build (default: nothing
    is printed). Raises W2VError when it cannot be built."""
    global _BACKEND
    if _BACKEND is None:
        with _LOCK:
            if _BACKEND is None:
                _BACKEND = _load(log or (lambda message: None))
    return _BACKEND


def use(library):
    """Send every kernel call to `library` from now on (scripts/kernel_ab.py compares two builds
    of kernels.c); returns the one it replaces, None if none was loaded yet."""
    global _BACKEND
    with _LOCK:
        previous, _BACKEND = _BACKEND, library
    return previous


def describe():
    """Which kernels run: for the run's JSON sidecar."""
    return f"compiled library {backend().path}"


def _load(log):
    path = library_path()
    if os.path.exists(path):
        try:
            return Library(path)
        except OSError:  # damaged: build it again
            pass
    log("compiling the training kernels for this machine (once, a second or two)")
    build(path)
    return Library(path)


def compiler():
    """The C compiler's command ($CC, else cc) as a list."""
    return shlex.split(os.environ.get("CC") or "cc")


def library_path():
    """Where this machine's library lives: named by everything its machine code depends on."""
    try:
        version = subprocess.run([*compiler(), "--version"], capture_output=True, text=True,
                                 timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        raise W2VError(NO_COMPILER) from None
    key = hashlib.sha256()
    with open(SOURCE, "rb") as f:
        key.update(f.read())
    key.update(f"{version}|{FLAGS}|{NATIVE_FLAGS}|{platform.machine()}|{_cpu_identity()}".encode())
    return os.path.join(_folder(), f"w2v_kernels-{key.hexdigest()[:16]}.so")


def _folder():
    if os.environ.get("W2V_KERNELS_DIR"):
        return os.environ["W2V_KERNELS_DIR"]
    folder = os.path.join(os.path.dirname(SOURCE), "__pycache__")
    try:
        os.makedirs(folder, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    return os.path.join(default_home(), "kernels")


def _cpu_identity():
    """The CPU's model and instruction-set flags: -march=native compiles for exactly these."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [line for line in f if line.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor()


def build(path, source=SOURCE):
    """Compile kernels.c (or another version of it, `source`) into a library at path: under a
    temporary name, then renamed, so no process ever loads a half-written library. W2VError if
    there is no compiler or it fails."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=folder, prefix=".w2v_kernels-", suffix=".so")
    except OSError as e:
        raise W2VError(f"cannot write the compiled kernels to {folder}: {e.strerror}") from None
    os.close(fd)
    try:
        for flags in (FLAGS + NATIVE_FLAGS, FLAGS):
            command = [*compiler(), *flags, "-o", partial, source, "-lm"]
            try:
                proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired):
                raise W2VError(NO_COMPILER) from None
            if proc.returncode == 0:
                break
        else:
            lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
            errors = [line for line in lines if "error:" in line]  # gcc's and clang's first one
            said = errors[0] if errors else lines[-1] if lines else f"exit status {proc.returncode}"
            raise W2VError(f"w2v could not compile its training kernels with {command[0]}: {said}")
        os.chmod(partial, 0o755)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
