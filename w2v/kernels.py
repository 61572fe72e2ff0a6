"""Compiled training kernels (numba): everything that runs once per word or per window.

The SGD loop in Python hands these a chunk of token ids; no Python code runs per word. Each
kernel releases the GIL (`nogil`), so threads can train on different chunks at once (Hogwild:
V and U are shared and updated without locks). The plain-numpy reference for what a window
update must compute is w2v/losses.py; tests/test_kernels.py checks the kernels against it.

No kernel allocates: callers pass outputs and scratch space. That lets w2v/native.py compile
the kernels once into a plain shared library that runs without numba's runtime; training calls
them through w2v/native.py, which falls back to these functions under numba's JIT.

Naming, after docs/math.md and the C tool: a pair is (input word, output word); the input
word's row of V is v_c, the output word's row of U is u_o. For each position t of a sentence
with a dynamic window of radius b, the inputs are the context words w_{t-b..t+b} (t itself
excluded) and the output is the centre word w_t, as in word2vec.c's skip-gram: summed over the
corpus this is the same set of pairs as centre-predicts-context.

Random numbers come from a 64-bit linear congruential generator whose state is passed in and
returned, so that a chunk's result depends only on its seed.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

SENTENCE_BREAK = -1  # in a prepared chunk: sentences are separated by -1

_MULT = np.uint64(6364136223846793005)
_INC = np.uint64(1442695040888963407)
_SHIFT32 = np.uint64(32)
_SHIFT40 = np.uint64(40)
_TO_UNIT = np.float32(1.0 / (1 << 24))


@intrinsic
def _row(typingctx, M, M_hot, i):
    """A raw pointer to row i of M_hot if i < len(M_hot), else of M (2-D, same dtype).

    M_hot is a thread's own copy of the first rows of M (see w2v/steps.py), indexed by the same
    ids; it may be empty. A pointer, not a view: numba reference-counts views (an atomic add and
    a call each), which in these loops cost a third of the time.
    """
    def codegen(context, builder, sig, args):
        shared = context.make_array(sig.args[0])(context, builder, args[0])
        hot = context.make_array(sig.args[1])(context, builder, args[1])
        i = context.cast(builder, args[2], sig.args[2], types.int64)
        in_hot = builder.icmp_signed("<", i, cgutils.unpack_tuple(builder, hot.shape)[0])
        data = builder.select(in_hot, hot.data, shared.data)
        stride = builder.select(in_hot, cgutils.unpack_tuple(builder, hot.strides)[0],
                                cgutils.unpack_tuple(builder, shared.strides)[0])
        i64 = ir.IntType(64)
        address = builder.add(builder.ptrtoint(data, i64), builder.mul(i, stride))
        return builder.inttoptr(address, data.type)

    return types.CPointer(M.dtype)(M, M_hot, i), codegen


@intrinsic
def _prefetch(typingctx, p, n):
    """Ask the CPU to start loading p[0:n] into cache (llvm.prefetch, one call a cache line)."""
    def codegen(context, builder, sig, args):
        i64, i32, i8p = ir.IntType(64), ir.IntType(32), ir.IntType(8).as_pointer()
        start = builder.ptrtoint(args[0], i64)
        size = builder.mul(context.cast(builder, args[1], sig.args[1], types.int64),
                           ir.Constant(i64, sig.args[0].dtype.bitwidth // 8))
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0")
        with cgutils.for_range_slice(builder, ir.Constant(i64, 0), size,
                                     ir.Constant(i64, 64)) as (offset, _):
            address = builder.inttoptr(builder.add(start, offset), i8p)
            # read access, keep in all cache levels, data cache
            builder.call(prefetch, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(p, n), codegen


@njit(inline="always")
def _lcg(state):
    return state * _MULT + _INC


@njit(inline="always")
def _below(state, n):
    """An integer in [0, n) from the high 32 bits of the state (multiply-shift, no division)."""
    return np.int64(((state >> _SHIFT32) * np.uint64(n)) >> _SHIFT32)


@njit(inline="always")
def _unit(state):
    """A float32 in [0, 1) from the high 24 bits of the state."""
    return np.float32(state >> _SHIFT40) * _TO_UNIT


@njit(inline="always")
def _window(start, end, i, window, state):
    """The positions [lo, hi) of centre i's dynamic window (radius uniform in 1..window), kept
    inside its sentence [start, end); i itself is in the range and is skipped by the caller."""
    state = _lcg(state)
    b = 1 + _below(state, window)
    return max(start, i - b), min(end, i + b + 1), state


@njit(inline="always")
def _draw(state, alias_prob, alias_idx):
    """One draw from the alias table (Vose): a bucket uniformly, then it or its alias."""
    state = _lcg(state)
    r = _below(state, alias_prob.shape[0])
    state = _lcg(state)
    if _unit(state) >= alias_prob[r]:
        r = alias_idx[r]
    return r, state


# σ(x) and -log σ(x) as tables on [-TABLE_MAX, TABLE_MAX], read with linear interpolation: a few
# flops instead of exp and log per score (the cost's log1p(exp) alone took 40% of the time).
# Interpolation error h²/8 · max|f''| (h = 2·TABLE_MAX/TABLE_SIZE) plus float32 rounding: below
# 5e-7 for σ and 1e-6 for -log σ; past the ends σ is 0 or 1 and -log σ is 0 or -x, within 1e-7.
TABLE_MAX = 16.0
TABLE_SIZE = 8192
_GRID = np.linspace(-TABLE_MAX, TABLE_MAX, TABLE_SIZE + 1)
SIGMOID_TABLE = (1.0 / (1.0 + np.exp(-_GRID))).astype(np.float32)
NEG_LOG_SIGMOID_TABLE = (np.maximum(-_GRID, 0.0) + np.log1p(np.exp(-np.abs(_GRID)))).astype(np.float32)
_SCALE = np.float32(TABLE_SIZE / (2 * TABLE_MAX))
_TMAX = np.float32(TABLE_MAX)
_LAST = np.float32(TABLE_SIZE - 1e-3)  # the last position whose i + 1 is in the table


@njit(inline="always")
def _sigmoid_and_cost(z):
    """(σ(z), -log σ(z)) from the tables, without branches: z is clamped to the grid, and the
    cost gets back the linear part -z - TABLE_MAX that clamping cut off below the grid."""
    pos = min(max((z + _TMAX) * _SCALE, np.float32(0.0)), _LAST)
    i = np.int64(pos)
    frac = pos - np.float32(i)
    s = SIGMOID_TABLE[i] + frac * (SIGMOID_TABLE[i + 1] - SIGMOID_TABLE[i])
    nls = NEG_LOG_SIGMOID_TABLE[i] + frac * (NEG_LOG_SIGMOID_TABLE[i + 1] - NEG_LOG_SIGMOID_TABLE[i])
    return s, nls + max(-z - _TMAX, np.float32(0.0))


@njit(nogil=True, cache=True)
def prepare_chunk(raw, remap, keep, state, out):
    """Raw corpus ids -> training ids, with out-of-vocabulary and subsampled words dropped.

    raw: (n,) uint32 over the full vocabulary, 0xFFFFFFFF at sentence ends; remap: full id ->
    training id or -1; keep: (W,) float32 probability of keeping each word. Writes the kept ids
    to out[:m] (out holds >= n) with SENTENCE_BREAK between sentences; returns (m, new state).
    """
    n = 0
    for t in range(raw.shape[0]):
        r = raw[t]
        if r == np.uint32(0xFFFFFFFF):
            if n > 0 and out[n - 1] != SENTENCE_BREAK:
                out[n] = SENTENCE_BREAK
                n += 1
            continue
        w = remap[r]
        if w < 0:
            continue
        if keep[w] < 1.0:
            state = _lcg(state)
            if _unit(state) >= keep[w]:
                continue
        out[n] = w
        n += 1
    return n, state


@njit(inline="always")
def _add_combination_(dst, src, src_hot, rows, n, C, c, in_row, d):
    """dst[:d] += Σ_m C[c, m] · src[rows[m]] over m < n (C[m, c] if not in_row), in place; dst
    is a row pointer, source rows are read as _row says.

    Two source rows a pass over dst: half the loads and stores of one row at a time. C is
    indexed, not sliced: a view would cost two atomic reference counts a call.
    """
    m = 0
    while m < n:
        g0 = C[c, m] if in_row else C[m, c]
        s0 = _row(src, src_hot, rows[m])
        if m + 1 < n:
            g1 = C[c, m + 1] if in_row else C[m + 1, c]
            s1 = _row(src, src_hot, rows[m + 1])
            for k in range(d):
                dst[k] += g0 * s0[k] + g1 * s1[k]
        else:
            for k in range(d):
                dst[k] += g0 * s0[k]
        m += 2


@njit(nogil=True, fastmath=True, cache=True)
def window_update(V, U, V_hot, U_hot, inputs, n_in, targets, n_t, alpha, grad_in, G):
    """One HogBatch window: n_in input words against the same n_t output words, in place.

    targets[0] is the true output word (label 1), targets[1:n_t] the negatives (label 0). All
    n_in x n_t scores are computed from the current V and U, then the summed gradients are applied:
    exactly one SGD step of the reference neg_sampling_loss on the batch of pairs
    (V[inputs[a]], targets[0]) with negatives targets[1:n_t]. Returns the summed cost.
    Rows below len(V_hot) (len(U_hot)) are read and written there instead (may be empty).
    grad_in (>= n_in, d) and G (>= n_in, >= n_t) are scratch space.
    """
    d = V.shape[1]
    cost = 0.0
    for a in range(n_in):  # scores f = v_a·u_t, kept in G for now
        v = _row(V, V_hot, inputs[a])
        t = 0
        while t + 1 < n_t:
            u0, u1 = _row(U, U_hot, targets[t]), _row(U, U_hot, targets[t + 1])
            f0 = f1 = np.float32(0.0)
            for k in range(d):
                f0 += v[k] * u0[k]
                f1 += v[k] * u1[k]
            G[a, t], G[a, t + 1] = f0, f1
            t += 2
        if t < n_t:
            u0 = _row(U, U_hot, targets[t])
            f0 = np.float32(0.0)
            for k in range(d):
                f0 += v[k] * u0[k]
            G[a, t] = f0
    for a in range(n_in):  # with z = ±f (+ for the true word): cost -log σ(z), G = ±α(1 - σ(z))
        for t in range(n_t):
            sign = np.float32(1.0) if t == 0 else np.float32(-1.0)
            s, nls = _sigmoid_and_cost(sign * G[a, t])
            cost += nls
            G[a, t] = sign * alpha * (np.float32(1.0) - s)
    for a in range(n_in):  # grad_in = G @ U[targets]: (n_in, n_t) @ (n_t, d)
        g = _row(grad_in, grad_in, a)
        for k in range(d):
            g[k] = 0.0
        _add_combination_(g, U, U_hot, targets, n_t, G, a, True, d)
    for t in range(n_t):  # U[targets] += Gᵀ @ V[inputs]: (n_t, n_in) @ (n_in, d)
        _add_combination_(_row(U, U_hot, targets[t]), V, V_hot, inputs, n_in, G, t, False, d)
    for a in range(n_in):  # V[inputs] += grad_in, after U used the old V
        v = _row(V, V_hot, inputs[a])
        for k in range(d):
            v[k] += grad_in[a, k]
    return cost


@njit(nogil=True, fastmath=True, cache=True)
def pair_update(V, U, V_hot, U_hot, c, targets, n_t, alpha, scratch):
    """One pair as word2vec.c trains it: input c against n_t outputs, U updated as it goes.

    Returns the cost. For distinct targets this is one SGD step of the reference loss. Hot rows
    as in window_update; scratch (>= 1, d) float32, its first row accumulates the input's step.
    """
    d = V.shape[1]
    neu1e = _row(scratch, scratch, 0)
    for k in range(d):
        neu1e[k] = 0.0
    cost = 0.0
    v = _row(V, V_hot, c)
    for t in range(n_t):
        u = _row(U, U_hot, targets[t])
        f = np.float32(0.0)
        for k in range(d):
            f += v[k] * u[k]
        sign = np.float32(1.0) if t == 0 else np.float32(-1.0)
        s, nls = _sigmoid_and_cost(sign * f)
        cost += nls
        g = sign * alpha * (np.float32(1.0) - s)  # α(label - σ(f))
        for k in range(d):
            neu1e[k] += g * u[k]
            u[k] += g * v[k]
    for k in range(d):
        v[k] += neu1e[k]
    return cost


@njit(nogil=True, fastmath=True, cache=True)
def neg_chunk(sen, V, U, V_hot, U_hot, alias_prob, alias_idx, window, K, shared, alpha, state,
              inputs, targets, ahead, grad_in, G):
    """Skip-gram with negative sampling over a prepared chunk, updating V and U in place.

    shared: the context words of a window share one draw of K negatives (HogBatch, Ji et al.
    2016) and are trained as one dense window_update; otherwise each pair draws its own, as
    word2vec.c does. A negative equal to the output word is skipped, as in word2vec.c.
    Returns (summed cost, number of positive pairs, generator state).
    V_hot, U_hot: the calling thread's own copies of the first rows of V and U, trained instead
    of those rows (see _row and w2v/steps.py); empty, V and U are trained directly.
    Scratch space (no kernel allocates, see w2v/native.py): inputs (2·window,) and targets (K+1,)
    int32, ahead (2, K) int32, grad_in (2·window, d) and G (2·window, K+1) float32.
    """
    d = V.shape[1]
    cost = 0.0
    pairs = 0
    n = sen.shape[0]
    # Each window's negatives are drawn one window ahead, so that the rows of U it will need can
    # be prefetched while the window before it computes: they are random rows, mostly not in
    # cache, and waiting for them was a large part of the time. ahead[slot] holds this window's.
    slot = 0
    if shared:
        for k in range(K):
            ahead[0, k], state = _draw(state, alias_prob, alias_idx)
    start = 0
    for end in range(n + 1):
        if end < n and sen[end] != SENTENCE_BREAK:
            continue
        for i in range(start, end):
            lo, hi, state = _window(start, end, i, window, state)
            c = sen[i]
            if shared:
                following = i + 1 if i + 1 < n and sen[i + 1] != SENTENCE_BREAK else i + 2
                if following < n:  # the next window, in this sentence or the next
                    for k in range(K):
                        ahead[1 - slot, k], state = _draw(state, alias_prob, alias_idx)
                        _prefetch(_row(U, U_hot, ahead[1 - slot, k]), d)
                    _prefetch(_row(U, U_hot, sen[following]), d)
                    if i + window + 1 < end:
                        _prefetch(_row(V, V_hot, sen[i + window + 1]), d)
                slot = 1 - slot
                n_in = 0
                for j in range(lo, hi):
                    if j != i:
                        inputs[n_in] = sen[j]
                        n_in += 1
                if n_in == 0:
                    continue
                targets[0] = c
                n_t = 1
                for k in range(K):
                    if ahead[1 - slot, k] != c:
                        targets[n_t] = ahead[1 - slot, k]
                        n_t += 1
                cost += window_update(V, U, V_hot, U_hot, inputs, n_in, targets, n_t, alpha, grad_in, G)
                pairs += n_in
            else:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    targets[0] = c
                    n_t = 1
                    for _ in range(K):
                        r, state = _draw(state, alias_prob, alias_idx)
                        if r != c:
                            targets[n_t] = r
                            n_t += 1
                    cost += pair_update(V, U, V_hot, U_hot, sen[j], targets, n_t, alpha, grad_in)
                    pairs += 1
        start = end + 1
    return cost, pairs, state


@njit(nogil=True, cache=True)
def skipgram_pairs(sen, window, state, inputs, outputs):
    """All (input, output) pairs of a prepared chunk under dynamic windows, written to
    inputs[:m] and outputs[:m] (each holds >= 2·window·len(sen)); returns (m, new state)."""
    n = sen.shape[0]
    m = 0
    start = 0
    for end in range(n + 1):
        if end < n and sen[end] != SENTENCE_BREAK:
            continue
        for i in range(start, end):
            lo, hi, state = _window(start, end, i, window, state)
            for j in range(lo, hi):
                if j != i:
                    inputs[m] = sen[j]
                    outputs[m] = sen[i]
                    m += 1
        start = end + 1
    return m, state


@njit(nogil=True, fastmath=True, cache=True)
def scatter_add_rows(M, rows, G, scale):
    """M[rows[i]] += scale * G[i] for every i, accumulating repeated rows (in place)."""
    d = M.shape[1]
    for i in range(rows.shape[0]):
        r = rows[i]
        for k in range(d):
            M[r, k] += scale * G[i, k]


@njit(nogil=True, cache=True)
def build_alias(scaled, prob, alias, small, large):
    """Vose's alias tables for a distribution p, given scaled = p·W (float64, overwritten):
    fills prob (float32) and alias (int32); small and large (int64) are scratch, all (W,)."""
    W = scaled.shape[0]
    ns = nl = 0
    for i in range(W):
        prob[i] = 1.0
        alias[i] = i
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1


@njit(nogil=True, cache=True)
def draw_many(alias_prob, alias_idx, state, out):
    """Fills out with draws from an alias table, with the kernels' own generator (for tests and
    checks); returns the new state."""
    for i in range(out.shape[0]):
        r, state = _draw(state, alias_prob, alias_idx)
        out[i] = r
    return state
