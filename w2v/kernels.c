/* w2v's training kernels: everything that runs once per word or per window, in plain C99.

The SGD loop (w2v/sgd.py) hands these a chunk of token ids; no Python runs per word. w2v/native.py
compiles this file once per machine and calls it through ctypes, which releases the GIL, so several
threads train different chunks at once, all on the same V and U without locks (Hogwild). The
plain-numpy reference for what each update must compute is w2v/losses.py; tests/test_kernels.py
checks these kernels against it.

The math and its names are docs/math.md's, sections 8-9a (V, U, v_c, u_o, W, d, K, alpha). A
pair is (input word, output word): the input word's row of V is v_c, the output word's row of U
is u_o. For each position t of a sentence with a dynamic window of radius b, the inputs are the
context words w_{t-b..t+b} (t itself excluded) and the output is the centre word w_t, as in
word2vec.c's skip-gram; summed over the corpus this is the same set of pairs as
centre-predicts-context. CBOW (section 16) turns the window around: h, the mean of the context
rows, predicts the centre. Hierarchical softmax (section 17) replaces the output word's row and
its negatives by the inner nodes on the word's path in a Huffman tree (w2v/huffman.py).

Random numbers come from a 64-bit linear congruential generator whose state is passed in and
written back (`uint64_t *state`), so that a chunk's result depends only on its seed.

The interface: every function below that is not static is called from Python. w2v/native.py
reads the types and names of its parameters from its definition (returning int64_t or double,
right below its comment), and the shape of each array parameter from that comment, written
`name (shape,)` in terms of the integer parameters, or `(W, d; ld)` for rows of d values that
start ld values apart; a struct's arrays have their shapes in their fields' comments (one line
each). So adding a parameter is one edit here, and native.py checks every array's dtype, layout
and shape before passing its pointer. `const` arrays are only read. Negative
return values are errors: BAD_ID, NO_MEMORY, BAD_SETTING. Nothing here knows about Python.
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SENTENCE_BREAK (-1)  /* in a prepared chunk: sentences are separated by -1 */
#define END_OF_SENTENCE 0xFFFFFFFFu  /* in the corpus's raw ids */
#define BAD_ID (-1)  /* an id outside the vocabulary: a damaged corpus cache, never a crash */
#define NO_MEMORY (-2)
#define BAD_SETTING (-3)  /* a window below 1 or K below 0 would overrun the scratch space */
#define CACHE_LINE 64

/* ---------------------------------------------------------------------------------------------
   random numbers: a 64-bit LCG, its high bits used */

static inline uint64_t lcg(uint64_t state) {
    return state * 6364136223846793005ull + 1442695040888963407ull;
}

/* an integer in [0, n) from the high 32 bits of the state (multiply-shift, no division) */
static inline int64_t below(uint64_t state, int64_t n) {
    return (int64_t)(((state >> 32) * (uint64_t)n) >> 32);
}

/* a float in [0, 1) from the high 24 bits of the state */
static inline float unit(uint64_t state) {
    return (float)(state >> 40) * (1.0f / (1 << 24));
}

/* One draw from Vose's alias tables: a bucket uniformly, then it or its alias. */
static inline int32_t draw(uint64_t *state, const float *alias_prob, const int32_t *alias_idx,
                           int64_t W) {
    *state = lcg(*state);
    int64_t r = below(*state, W);
    *state = lcg(*state);
    return unit(*state) >= alias_prob[r] ? alias_idx[r] : (int32_t)r;
}

/* The positions [lo, hi) of centre i's dynamic window (radius uniform in 1..window), kept inside
   its sentence [start, end); i itself is in the range and is skipped by the caller. */
static inline void dynamic_window(int64_t start, int64_t end, int64_t i, int64_t window,
                                  uint64_t *state, int64_t *lo, int64_t *hi) {
    *state = lcg(*state);
    int64_t b = 1 + below(*state, window);
    *lo = i - b > start ? i - b : start;
    *hi = i + b + 1 < end ? i + b + 1 : end;
}

/* ---------------------------------------------------------------------------------------------
   sigma(x) and -log sigma(x) as a table on [-TABLE_MAX, TABLE_MAX], read with linear interpolation:
   a few flops instead of exp and log per score (log1p(exp) was a large part of the time).
   Interpolation error h^2/8 max|f''| (h = 2 TABLE_MAX / TABLE_SIZE) plus float32 rounding: below
   5e-7 for sigma and 1e-6 for -log sigma; past the ends sigma is 0 or 1 and -log sigma is 0 or
   -x, within 1e-7. */

#define TABLE_MAX 16.0f
#define TABLE_SIZE 8192

/* Grid point i, x_i = -TABLE_MAX + i h: both functions' values there and their steps to grid
   point i + 1, side by side, so that a score reads one 16-byte entry, not four values from two
   tables. */
typedef struct {
    float sigma, sigma_step;
    float cost, cost_step;
} GridPoint;
static GridPoint grid[TABLE_SIZE];

/* sigma(x_i) and -log sigma(x_i) (in its stable form), rounded to float */
static float sigma_at(int i) {
    double x = -TABLE_MAX + i * (2.0 * TABLE_MAX / TABLE_SIZE);
    return (float)(1.0 / (1.0 + exp(-x)));
}

static float cost_at(int i) {
    double x = -TABLE_MAX + i * (2.0 * TABLE_MAX / TABLE_SIZE);
    return (float)((x < 0 ? -x : 0.0) + log1p(exp(-fabs(x))));
}

/* Fills the table; w2v/native.py calls it once, when it loads the library. */
int64_t init_tables(void) {
    for (int i = 0; i < TABLE_SIZE; i++) {
        grid[i] = (GridPoint){sigma_at(i), sigma_at(i + 1) - sigma_at(i),
                              cost_at(i), cost_at(i + 1) - cost_at(i)};
    }
    return 0;
}

/* sigma(z) into *s and -log sigma(z) returned, without branches: z is clamped to the grid, and
   the cost gets back the linear part -z - TABLE_MAX that clamping cut off below the grid.
   A NaN z (vectors that diverged) reads entry 0, never outside the table, and returns a NaN
   cost, so that the chunk's caller sees the divergence and stops. */
static inline float sigmoid_and_cost(float z, float *s) {
    float pos = (z + TABLE_MAX) * (TABLE_SIZE / (2 * TABLE_MAX));
    pos = pos > 0.0f ? pos : 0.0f;  /* NaN fails the test: 0 */
    pos = pos > TABLE_SIZE - 1e-3f ? TABLE_SIZE - 1e-3f : pos;  /* i stays in the table */
    int i = (int)pos;
    float frac = pos - (float)i;
    const GridPoint *g = grid + i;
    *s = g->sigma + frac * g->sigma_step;
    float below_grid = -z - TABLE_MAX;
    return g->cost + frac * g->cost_step
           + (below_grid <= 0.0f ? 0.0f : below_grid);  /* NaN fails the test: NaN */
}

/* ask the CPU to start loading row[0:d] into cache, one cache line at a time */
static inline void prefetch_row(const float *row, int64_t d) {
    for (int64_t k = 0; k < d; k += CACHE_LINE / sizeof(float)) {
        __builtin_prefetch(row + k, 0, 3);
    }
}

/* The row of V that the widest window of centre i adds to the one of centre i - 1, if the
   sentence, which ends at end, holds it. */
static inline void prefetch_added_row(const float *V, int64_t ld, int64_t d, const int32_t *sen,
                                      int64_t i, int64_t end, int64_t window) {
    if (i + window < end) {
        prefetch_row(V + sen[i + window] * ld, d);
    }
}

/* ---------------------------------------------------------------------------------------------
   chunk preparation */

/* Raw corpus ids -> training ids, out-of-vocabulary and subsampled words dropped.
   raw (n,) ids over the full vocabulary, END_OF_SENTENCE at sentence ends; remap (n_full,) full
   id -> training id or -1; keep (W,) the probability of keeping each word; state (1,) the
   generator, advanced; out (n,) receives the kept ids, SENTENCE_BREAK between sentences.
   Returns how many ids were written, or BAD_ID. */
int64_t prepare_chunk(const uint32_t *raw, int64_t n, const int32_t *remap, int64_t n_full,
                      const float *keep, int64_t W, uint64_t *state, int32_t *out) {
    uint64_t rng = *state;
    int64_t m = 0;
    for (int64_t t = 0; t < n; t++) {
        uint32_t r = raw[t];
        if (r == END_OF_SENTENCE) {
            if (m > 0 && out[m - 1] != SENTENCE_BREAK) {
                out[m++] = SENTENCE_BREAK;
            }
            continue;
        }
        if (r >= n_full || remap[r] >= W) {
            return BAD_ID;
        }
        int32_t w = remap[r];
        if (w < 0) {
            continue;
        }
        if (keep[w] < 1.0f) {
            rng = lcg(rng);
            if (unit(rng) >= keep[w]) {
                continue;
            }
        }
        out[m++] = w;
    }
    *state = rng;
    return m;
}

/* Checks every id of a prepared chunk before any training. */
static int ids_ok(const int32_t *sen, int64_t n, int64_t W) {
    for (int64_t t = 0; t < n; t++) {
        if (sen[t] < SENTENCE_BREAK || sen[t] >= W) {
            return 0;
        }
    }
    return 1;
}

/* Where the sentence of a prepared chunk that starts at `start` ends: the next SENTENCE_BREAK
   or n. The kernels walk a chunk's sentences as
   `for (start = 0; start <= n; start = end + 1) { end = sentence_end(sen, n, start); ... }`. */
static inline int64_t sentence_end(const int32_t *sen, int64_t n, int64_t start) {
    int64_t end = start;
    while (end < n && sen[end] != SENTENCE_BREAK) {
        end++;
    }
    return end;
}

/* ---------------------------------------------------------------------------------------------
   negative sampling */

/* What a chunk of negative sampling trains, and how. With rows of V and U padded to whole cache
   lines (ld a multiple of 16, the arrays 64-byte aligned), two threads never write one line
   through two different rows (false sharing). */
typedef struct {
    float *V;                 /* (W, d; ld) input vectors, row c is v_c; trained in place */
    float *U;                 /* (W, d; ld) output vectors, row o is u_o; trained in place */
    const float *alias_prob;  /* (W,) Vose's alias tables of the negatives' distribution */
    const int32_t *alias_idx; /* (W,) */
    int64_t W;                /* words in the vocabulary */
    int64_t d;                /* vector size */
    int64_t ld;               /* rows of V and U start ld >= d floats apart */
    int64_t window;           /* the largest radius of a dynamic window */
    int64_t K;                /* negatives drawn per window (shared) or per pair */
    int64_t shared;           /* 1: a window's inputs share its K negatives (HogBatch) */
    float alpha;              /* the learning rate */
} NegSampling;

/* rows[i] = M + ids[i] * ld: where each of n rows of M (ld floats apart) starts. The block
   update reads and writes rows through such pointers, so that a caller can hand it rows that live
   elsewhere (hs_chunk's own copies of the busiest inner nodes). */
static void rows_of(float *M, int64_t ld, const int32_t *ids, int64_t n, float **rows) {
    for (int64_t i = 0; i < n; i++) {
        rows[i] = M + ids[i] * ld;
    }
}

/* The block's three products, (n_in x d) by (d x n_out) and back, are sums over tiles of at most
   2 rows by 4: each row loaded once serves up to 8 multiply-adds, and up to 8 independent sums
   are in flight (one row at a time waits on its one accumulator, an FMA's latency every 8
   floats, and loads a row for every multiply-add). The tile functions are called with constant
   R, T or M, so the compiler unrolls their small loops and keeps the tile in registers. */

/* f[r * ldf + t] = v[r] . u[t] for r < R and t < T (R at most 2, T at most 4). */
static inline void dot_tile(float *const *v, int R, float *const *u, int T, int64_t d, float *f,
                            int64_t ldf) {
    float acc[2][4] = {{0.0f}};
    for (int64_t k = 0; k < d; k++) {
        for (int r = 0; r < R; r++) {
            for (int t = 0; t < T; t++) {
                acc[r][t] += v[r][k] * u[t][k];
            }
        }
    }
    for (int r = 0; r < R; r++) {
        for (int t = 0; t < T; t++) {
            f[r * ldf + t] = acc[r][t];
        }
    }
}

/* f[r * n_out + t] = v[r] . u[t] for r < R and every t < n_out. */
static inline void scores_of_rows(float *const *v, int R, float *const *u, int64_t n_out,
                                  int64_t d, float *f) {
    int64_t t = 0;
    for (; t + 4 <= n_out; t += 4) {
        dot_tile(v, R, u + t, 4, d, f + t, n_out);
    }
    for (; t + 2 <= n_out; t += 2) {
        dot_tile(v, R, u + t, 2, d, f + t, n_out);
    }
    if (t < n_out) {
        dot_tile(v, R, u + t, 1, d, f + t, n_out);
    }
}

/* G[a * n_out + t] = in[a] . out[t] for every a < n_in and t < n_out. */
static void scores_of_block(float *const *in, int64_t n_in, float *const *out, int64_t n_out,
                            int64_t d, float *G) {
    int64_t a = 0;
    for (; a + 2 <= n_in; a += 2) {
        scores_of_rows(in + a, 2, out, n_out, d, G + a * n_out);
    }
    if (a < n_in) {
        scores_of_rows(in + a, 1, out, n_out, d, G + a * n_out);
    }
}

/* dst[r][0:d] += sum over m < M of x[r * rs + m * ms] src[m][0:d], for r < R (R at most 2, M at
   most 4). No source row is a destination row; dst[0] and dst[1] may be one row (a word drawn
   twice as a negative), which then collects both sums. */
static inline void add_tile(float *const *dst, int R, float *const *src, int M, const float *x,
                            int64_t rs, int64_t ms, int64_t d) {
    float c[2][4] = {{0.0f}};
    for (int r = 0; r < R; r++) {
        for (int m = 0; m < M; m++) {
            c[r][m] = x[r * rs + m * ms];
        }
    }
    /* sources for m >= M are never read: their coefficients are 0 and the compiler drops them */
    const float *restrict s0 = src[0], *restrict s1 = src[M > 1 ? 1 : 0],
                          *restrict s2 = src[M > 2 ? 2 : 0], *restrict s3 = src[M > 3 ? 3 : 0];
    float *d0 = dst[0], *d1 = dst[R > 1 ? 1 : 0];
    for (int64_t k = 0; k < d; k++) {
        float sum0 = c[0][0] * s0[k], sum1 = c[1][0] * s0[k];
        if (M > 1) {
            sum0 += c[0][1] * s1[k];
            sum1 += c[1][1] * s1[k];
        }
        if (M > 2) {
            sum0 += c[0][2] * s2[k];
            sum1 += c[1][2] * s2[k];
        }
        if (M > 3) {
            sum0 += c[0][3] * s3[k];
            sum1 += c[1][3] * s3[k];
        }
        d0[k] += sum0;
        if (R > 1) {
            d1[k] += sum1;
        }
    }
}

/* dst[r] += sum over m < n_src of x[r * rs + m * ms] src[m], for r < R. */
static inline void add_to_rows(float *const *dst, int R, float *const *src, int64_t n_src,
                               const float *x, int64_t rs, int64_t ms, int64_t d) {
    int64_t m = 0;
    for (; m + 4 <= n_src; m += 4) {
        add_tile(dst, R, src + m, 4, x + m * ms, rs, ms, d);
    }
    for (; m + 2 <= n_src; m += 2) {
        add_tile(dst, R, src + m, 2, x + m * ms, rs, ms, d);
    }
    if (m < n_src) {
        add_tile(dst, R, src + m, 1, x + m * ms, rs, ms, d);
    }
}

/* dst[r] += sum over m of x[r * rs + m * ms] src[m], for every r < n_dst and m < n_src: the
   matrix product x @ src added to dst, x read with strides rs and ms (ms = 1, rs = n_src for x
   itself; rs = 1, ms = n_dst for its transpose). */
static void add_block(float *const *dst, int64_t n_dst, float *const *src, int64_t n_src,
                      const float *x, int64_t rs, int64_t ms, int64_t d) {
    int64_t r = 0;
    for (; r + 2 <= n_dst; r += 2) {
        add_to_rows(dst + r, 2, src, n_src, x + r * rs, rs, ms, d);
    }
    if (r < n_dst) {
        add_to_rows(dst + r, 1, src, n_src, x + r * rs, rs, ms, d);
    }
}

/* The block every skip-gram kernel trains: n_in input rows of V (in[a], v_{inputs[a]}) against
   n_out output rows of U (out[t], u_{outputs[t]}), pair (a, t) counted weights[a * n_out + t]
   times (0: not in the block, G = 0; a row that is not finite still spreads NaN through such a
   pair, where the cost is NaN already and the run stops as diverged), with label 1 when signs[t]
   is +1 and label 0 when it is -1.
   Its cost is
       sum over a, t of  weights[a, t] * -log sigma(signs[t] * v_{inputs[a]} . u_{outputs[t]}),
   and this is one SGD step of it: all scores from the current V and U, then U's rows updated,
   then V's (a row that appears twice, as an input or as an output, collects both steps).
   weights NULL: every pair once; signs NULL: +1 for t = 0, -1 after (a window of negative
   sampling). Hierarchical softmax passes a path's branches as signs; context combining passes
   the counts m_{p,k} as weights. Returns the summed cost.
   Phases over the whole block, each reading rows the one before has just loaded: the scores,
   then G = weights * signs * alpha (1 - sigma); the inputs' steps grad_in = G @ U[outputs]; the
   outputs' steps U[outputs] += G^T @ V[inputs]; then V[inputs] += grad_in. The products run in
   tiles over every pair, a pair of weight 0 with G = 0 (dense tiles were faster than skipping
   those pairs one at a time: skip-gram with negative sampling 10% at --combine 8).
   The rows are passed as pointers (rows_of): the inputs' rows of V, the outputs' of U or of
   hs_chunk's copies; the phases assume no row is both an input and an output.
   scratch: grad_in (n_in, d), G (n_in, n_out). */
static double block_update(float *const *in, int64_t n_in, float *const *out, int64_t n_out,
                           const float *signs, const float *weights, int64_t d, float alpha,
                           float *grad_in, float *G) {
    scores_of_block(in, n_in, out, n_out, d, G);
    double cost = 0.0;
    for (int64_t a = 0; a < n_in; a++) {
        const float *w = weights ? weights + a * n_out : NULL;
        float *g = G + a * n_out;
        for (int64_t t = 0; t < n_out; t++) {  /* z = +-f: cost -log sigma(z), */
            float weight = w ? w[t] : 1.0f;     /* G = +-alpha (1 - sigma(z)), times the weight */
            if (weight == 0.0f) {
                g[t] = 0.0f;
                continue;
            }
            float sign = signs ? signs[t] : t == 0 ? 1.0f : -1.0f, s;
            cost += weight * sigmoid_and_cost(sign * g[t], &s);
            g[t] = weight * sign * alpha * (1.0f - s);
        }
    }
    float *grad_rows[n_in + 1];  /* + 1: never an array of size 0 */
    for (int64_t a = 0; a < n_in; a++) {
        grad_rows[a] = grad_in + a * d;
        memset(grad_rows[a], 0, d * sizeof(float));
    }
    add_block(grad_rows, n_in, out, n_out, G, n_out, 1, d);  /* grad_in = G @ U[outputs] */
    add_block(out, n_out, in, n_in, G, 1, n_out, d);         /* U[outputs] += G^T @ V[inputs] */
    for (int64_t a = 0; a < n_in; a++) {  /* V[inputs] += grad_in, after U used the old V */
        float *v = in[a];
        for (int64_t k = 0; k < d; k++) {
            v[k] += grad_in[a * d + k];
        }
    }
    return cost;
}

/* block_update with every pair once, rows V[inputs] and U[targets]: a HogBatch window, or a path
   of hierarchical softmax. scratch: rows (n_in + n_t,), and block_update's. */
static double dense_update(float *V, float *U, int64_t d, int64_t ld, float alpha,
                           const int32_t *inputs, int64_t n_in, const int32_t *targets,
                           const float *signs, int64_t n_t, float *grad_in, float *G,
                           float **rows) {
    rows_of(V, ld, inputs, n_in, rows);
    rows_of(U, ld, targets, n_t, rows + n_in);
    return block_update(rows, n_in, rows + n_in, n_t, signs, NULL, d, alpha, grad_in, G);
}

/* One HogBatch window: n_in input words against the same n_t output words, V and U in place.
   targets[0] is the true output word (label 1), targets[1:n_t] the negatives (label 0). All
   n_in x n_t scores come from the current V and U, then the summed gradients are applied: exactly
   one SGD step of the reference neg_sampling_loss on the pairs (v_{inputs[a]}, u_{targets[0]})
   with negatives targets[1:n_t]. Returns the summed cost.
   inputs (n_in,), targets (n_t,); scratch: grad_in (n_in, d), G (n_in, n_t). */
double window_update(const NegSampling *p, const int32_t *inputs, int64_t n_in,
                     const int32_t *targets, int64_t n_t, float *grad_in, float *G) {
    float *rows[n_in + n_t + 1];  /* a test's window: a few pointers on the stack */
    return dense_update(p->V, p->U, p->d, p->ld, p->alpha, inputs, n_in, targets, NULL, n_t,
                        grad_in, G, rows);
}

/* targets (K + 1,) receives the centre word c, then the K negatives less those equal to c
   (word2vec.c skips them); returns how many were written. negatives may be targets + 1. */
static int64_t centre_then(int32_t c, const int32_t *negatives, int64_t K, int32_t *targets) {
    int64_t n_t = 0;
    targets[n_t++] = c;
    for (int64_t k = 0; k < K; k++) {
        if (negatives[k] != c) {
            targets[n_t++] = negatives[k];
        }
    }
    return n_t;
}

/* centre_then with K negatives drawn now. */
static int64_t centre_and_negatives(const NegSampling *p, int32_t c, uint64_t *rng,
                                    int32_t *targets) {
    for (int64_t k = 0; k < p->K; k++) {
        targets[1 + k] = draw(rng, p->alias_prob, p->alias_idx, p->W);
    }
    return centre_then(c, targets + 1, p->K, targets);
}

/* One pair as word2vec.c trains it: input c against n_t outputs, U updated as it goes.
   For distinct targets this is one SGD step of the reference loss. Returns the cost.
   targets (n_t,); scratch: grad_v (d,), where the input's step accumulates. */
double pair_update(const NegSampling *p, int32_t c, const int32_t *targets, int64_t n_t,
                   float *grad_v) {
    const int64_t d = p->d;
    float *v = p->V + c * p->ld;
    memset(grad_v, 0, d * sizeof(float));
    double cost = 0.0;
    for (int64_t t = 0; t < n_t; t++) {
        float *u = p->U + targets[t] * p->ld;
        float f = 0.0f;
        for (int64_t k = 0; k < d; k++) {
            f += v[k] * u[k];
        }
        float sign = t == 0 ? 1.0f : -1.0f, s;
        cost += sigmoid_and_cost(sign * f, &s);
        float g = sign * p->alpha * (1.0f - s);  /* alpha (label - sigma(f)) */
        for (int64_t k = 0; k < d; k++) {
            grad_v[k] += g * u[k];
            u[k] += g * v[k];
        }
    }
    for (int64_t k = 0; k < d; k++) {
        v[k] += grad_v[k];
    }
    return cost;
}

#define MAX_COMBINE 64  /* a block's windows are the bits of a uint64_t */

/* A thread's scratch space for one chunk, in one block aligned to and padded to whole cache
   lines: with several threads, no line holds two threads' scratch, so no thread's writes evict
   another's working set (false sharing). Sized for blocks of C windows; P = C + 2 * window
   bounds the context positions of C consecutive windows. */
typedef struct {
    void *block;
    int32_t *inputs;   /* (P,) the block's input words, one per context position */
    uint64_t *masks;   /* (P,) for each input, the windows holding it: bit j for centre j */
    int32_t *targets;  /* (C + K,) the output words: the centres, then the negatives */
    float *signs;      /* (C + K,) +1 for the centres, -1 for the negatives */
    int32_t *radii;    /* (C,) the centres' radii */
    int32_t *ahead;    /* (2, K) this block's negatives and the next one's */
    uint64_t *equal;   /* (K,) for each negative, the centres whose word it is (bit j) */
    float *grad_in;    /* (P, d) */
    float *G;          /* (P, C + K) */
    float *weights;    /* (P, C + K) how many times each (input, output) pair is in the cost */
    float **rows;      /* (P + C + K,) where the block's input rows, then its output rows, start */
} Scratch;

static size_t whole_lines(size_t bytes) {
    return (bytes + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
}

static int block_alloc(Scratch *s, int64_t C, int64_t window, int64_t K, int64_t d) {
    size_t P = C + 2 * window, T = C + K;
    size_t sizes[11] = {whole_lines(P * sizeof(int32_t)), whole_lines(P * sizeof(uint64_t)),
                        whole_lines(T * sizeof(int32_t)), whole_lines(T * sizeof(float)),
                        whole_lines(C * sizeof(int32_t)), whole_lines(2 * K * sizeof(int32_t)),
                        whole_lines(K * sizeof(uint64_t)), whole_lines(P * d * sizeof(float)),
                        whole_lines(P * T * sizeof(float)), whole_lines(P * T * sizeof(float)),
                        whole_lines((P + T) * sizeof(float *))};
    size_t total = 0;
    for (int i = 0; i < 11; i++) {
        total += sizes[i];
    }
    s->block = calloc(total + CACHE_LINE, 1);
    if (s->block == NULL) {
        return 0;
    }
    char *at = (char *)s->block + CACHE_LINE - (uintptr_t)s->block % CACHE_LINE;
    s->inputs = (int32_t *)at;
    s->masks = (uint64_t *)(at += sizes[0]);
    s->targets = (int32_t *)(at += sizes[1]);
    s->signs = (float *)(at += sizes[2]);
    s->radii = (int32_t *)(at += sizes[3]);
    s->ahead = (int32_t *)(at += sizes[4]);
    s->equal = (uint64_t *)(at += sizes[5]);
    s->grad_in = (float *)(at += sizes[6]);
    s->G = (float *)(at += sizes[7]);
    s->weights = (float *)(at += sizes[8]);
    s->rows = (float **)(at += sizes[9]);
    return 1;
}

/* The scratch of one window at a time (C = 1): CBOW's and hierarchical softmax's. */
static int scratch_alloc(Scratch *s, int64_t window, int64_t K, int64_t d) {
    return block_alloc(s, 1, window, K, d);
}

/* One block of context combining (docs/math.md section 9a), V and U in place: the C consecutive
   centres first..first+C-1 of the sentence sen[0:n], with radii, share the K negatives. The
   inputs are the distinct positions p of their windows, each with the mask of the windows holding
   it; the outputs, the C centre words, then the K negatives. Pair (p, centre j) counts once when
   window j holds p; pair (p, negative k) counts m_{p,k} times, the windows holding p whose centre
   word is not n_k (a negative equal to the centre is skipped, as in word2vec.c). C = 1 is one
   HogBatch window. Adds the positive pairs to *pairs; returns the summed cost. */
static double combined_step(const NegSampling *p, const int32_t *sen, int64_t n, int64_t first,
                            int64_t C, const int32_t *radii, const int32_t *negatives,
                            Scratch *s, int64_t *pairs) {
    const int64_t K = p->K, T = C + K;
    if (C == 1) {  /* one HogBatch window: the same step with less bookkeeping (section 9) */
        int64_t t = first, n_in = 0;
        for (int64_t q = t - radii[0] > 0 ? t - radii[0] : 0; q <= t + radii[0] && q < n; q++) {
            if (q != t) {
                s->inputs[n_in++] = sen[q];
            }
        }
        int64_t n_t = centre_then(sen[t], negatives, K, s->targets);
        *pairs += n_in;
        return n_in == 0 ? 0.0 : dense_update(p->V, p->U, p->d, p->ld, p->alpha, s->inputs, n_in,
                                              s->targets, NULL, n_t, s->grad_in, s->G, s->rows);
    }
    int64_t lo = n, hi = 0;  /* the union of the windows, [lo, hi): contiguous */
    for (int64_t j = 0; j < C; j++) {
        int64_t t = first + j;
        lo = t - radii[j] < lo ? t - radii[j] : lo;
        hi = t + radii[j] + 1 > hi ? t + radii[j] + 1 : hi;
    }
    lo = lo < 0 ? 0 : lo;
    hi = hi > n ? n : hi;
    memset(s->masks, 0, (hi - lo) * sizeof(uint64_t));
    for (int64_t j = 0; j < C; j++) {  /* masks[q - lo]: the windows holding position q */
        int64_t t = first + j;
        int64_t from = t - radii[j] > lo ? t - radii[j] : lo;
        int64_t to = t + radii[j] + 1 < hi ? t + radii[j] + 1 : hi;
        for (int64_t q = from; q < to; q++) {
            s->masks[q - lo] |= (uint64_t)(q != t) << j;
        }
    }
    int64_t n_in = 0;
    for (int64_t q = lo; q < hi; q++) {  /* the positions some window holds, in place */
        uint64_t mask = s->masks[q - lo];
        if (mask) {
            s->inputs[n_in] = sen[q];
            s->masks[n_in++] = mask;
            *pairs += __builtin_popcountll(mask);
        }
    }
    if (n_in == 0) {
        return 0.0;
    }
    for (int64_t j = 0; j < C; j++) {
        s->targets[j] = sen[first + j];
        s->signs[j] = 1.0f;
    }
    for (int64_t k = 0; k < K; k++) {
        s->targets[C + k] = negatives[k];
        s->signs[C + k] = -1.0f;
        s->equal[k] = 0;
        for (int64_t j = 0; j < C; j++) {
            s->equal[k] |= (uint64_t)(sen[first + j] == negatives[k]) << j;
        }
    }
    for (int64_t a = 0; a < n_in; a++) {
        float *w = s->weights + a * T;
        for (int64_t j = 0; j < C; j++) {
            w[j] = (float)((s->masks[a] >> j) & 1);
        }
        for (int64_t k = 0; k < K; k++) {
            w[C + k] = (float)__builtin_popcountll(s->masks[a] & ~s->equal[k]);
        }
    }
    rows_of(p->V, p->ld, s->inputs, n_in, s->rows);
    rows_of(p->U, p->ld, s->targets, T, s->rows + n_in);
    return block_update(s->rows, n_in, s->rows + n_in, T, s->signs, s->weights, p->d, p->alpha,
                        s->grad_in, s->G);
}

/* One block of context combining on its own, V and U in place, for checking it against the
   reference (w2v/losses.py's combined_loss): the centres first..first+C-1 of one sentence, their
   radii (each 1..window) and the K negatives they share. Returns the number of positive pairs, or
   BAD_ID, NO_MEMORY, BAD_SETTING; cost (1,) receives the summed cost.
   sen (n,) the sentence's ids; radii (C,); negatives (K,); cost (1,). */
int64_t combined_block(const NegSampling *p, const int32_t *sen, int64_t n, int64_t first,
                       int64_t C, const int32_t *radii, const int32_t *negatives, double *cost) {
    if (C < 1 || C > MAX_COMBINE || first < 0 || first + C > n || p->K < 0) {
        return BAD_SETTING;
    }
    for (int64_t t = 0; t < n + p->K; t++) {
        int32_t w = t < n ? sen[t] : negatives[t - n];
        if (w < 0 || w >= p->W) {
            return BAD_ID;
        }
    }
    for (int64_t j = 0; j < C; j++) {
        if (radii[j] < 1 || radii[j] > p->window) {
            return BAD_SETTING;
        }
    }
    Scratch s;
    if (!block_alloc(&s, C, p->window, p->K, p->d)) {
        return NO_MEMORY;
    }
    int64_t pairs = 0;
    *cost = combined_step(p, sen, n, first, C, radii, negatives, &s, &pairs);
    free(s.block);
    return pairs;
}

/* Skip-gram with negative sampling over a prepared chunk, V and U trained in place.
   shared: blocks of C consecutive centre words of a sentence (the last block of a sentence is
   shorter) share one draw of K negatives and are trained as one combined_step (C = 1: each
   window shares its negatives, HogBatch, Ji et al. 2016; C > 1: context combining, pSGNScc,
   Rengasamy et al. 2017); otherwise each pair draws its own, as word2vec.c does (C must be 1).
   A negative equal to the window's centre word is skipped, as in word2vec.c.
   sen (n,) training ids, SENTENCE_BREAK between sentences; state (1,) the generator, advanced;
   cost (1,) receives the summed cost. Returns the number of positive pairs, or BAD_ID, NO_MEMORY,
   BAD_SETTING. */
int64_t neg_chunk(const NegSampling *p, int64_t C, const int32_t *sen, int64_t n,
                  uint64_t *state, double *cost) {
    const int64_t d = p->d, K = p->K, window = p->window;
    if (window < 1 || K < 0 || C < 1 || C > MAX_COMBINE || (C > 1 && !p->shared)) {
        return BAD_SETTING;
    }
    if (!ids_ok(sen, n, p->W)) {
        return BAD_ID;
    }
    Scratch s;
    if (!block_alloc(&s, C, window, K, d)) {
        return NO_MEMORY;
    }
    uint64_t rng = *state;
    double total = 0.0;
    int64_t pairs = 0;
    /* Each block's negatives are drawn one block ahead, so that the rows of U and V it will need
       can be prefetched while the block before it computes: they are random rows, mostly not in
       cache, and waiting for them was a large part of the time. ahead[slot] holds this block's. */
    int64_t slot = 0;
    if (p->shared) {
        for (int64_t k = 0; k < K; k++) {
            s.ahead[k] = draw(&rng, p->alias_prob, p->alias_idx, p->W);
        }
    }
    for (int64_t start = 0, end; start <= n; start = end + 1) {
        end = sentence_end(sen, n, start);
        for (int64_t first = start; first < end; first += C) {
            if (!p->shared) {  /* C is 1: first is the centre */
                int64_t lo, hi;
                dynamic_window(start, end, first, window, &rng, &lo, &hi);
                int32_t c = sen[first];
                for (int64_t j = lo; j < hi; j++) {
                    if (j == first) {
                        continue;
                    }
                    int64_t n_t = centre_and_negatives(p, c, &rng, s.targets);
                    total += pair_update(p, sen[j], s.targets, n_t, s.grad_in);
                    pairs += 1;
                }
                continue;
            }
            int64_t size = end - first < C ? end - first : C;
            for (int64_t j = 0; j < size; j++) {
                rng = lcg(rng);
                s.radii[j] = (int32_t)(1 + below(rng, window));
            }
            int64_t next = first + size < end ? first + size : end + 1;  /* the next block's start */
            if (next < n) {
                int32_t *upcoming = s.ahead + (1 - slot) * K;
                for (int64_t k = 0; k < K; k++) {
                    upcoming[k] = draw(&rng, p->alias_prob, p->alias_idx, p->W);
                    prefetch_row(p->U + upcoming[k] * p->ld, d);
                }
                /* its centres' rows of U, and the rows of V of the positions it adds */
                for (int64_t t = next; t < next + C && t < n && sen[t] != SENTENCE_BREAK; t++) {
                    prefetch_row(p->U + sen[t] * p->ld, d);
                }
                for (int64_t q = next < end ? next + window : next;
                     q < next + C + window && q < n && sen[q] != SENTENCE_BREAK; q++) {
                    prefetch_row(p->V + sen[q] * p->ld, d);
                }
            }
            const int32_t *negatives = s.ahead + slot * K;
            slot = 1 - slot;
            total += combined_step(p, sen + start, end - start, first - start, size, s.radii,
                                   negatives, &s, &pairs);
        }
    }
    free(s.block);
    *state = rng;
    *cost = total;
    return pairs;
}

/* ---------------------------------------------------------------------------------------------
   CBOW and hierarchical softmax (docs/math.md sections 16 and 17) */

/* One window's context words: the positions [lo, hi) but i, into inputs; returns how many. */
static int64_t context_of(const int32_t *sen, int64_t lo, int64_t hi, int64_t i, int32_t *inputs) {
    int64_t n_in = 0;
    for (int64_t j = lo; j < hi; j++) {
        if (j != i) {
            inputs[n_in++] = sen[j];
        }
    }
    return n_in;
}

/* One skip-gram window with hierarchical softmax: every input row predicts the same word, so all
   take its path; the n_in x n_t block of window_update with the path's branches in place of the
   labels: sign +1 for bit 0, -1 for bit 1. One SGD step of the reference hs_loss on the pairs
   (v_{inputs[a]}, the word), U the inner nodes' rows. Returns the summed cost.
   V (W, d; ld), U (nodes, d; ld), inputs (n_in,), targets (n_t,) the path's inner nodes,
   signs (n_t,); scratch: grad_in (n_in, d), G (n_in, n_t). */
double path_window_update(float *V, int64_t W, float *U, int64_t nodes, int64_t d, int64_t ld,
                          const int32_t *inputs, int64_t n_in, const int32_t *targets,
                          const float *signs, int64_t n_t, float alpha, float *grad_in, float *G) {
    float *rows[n_in + n_t + 1];  /* a test's window: a few pointers on the stack */
    return dense_update(V, U, d, ld, alpha, inputs, n_in, targets, signs, n_t, grad_in, G, rows);
}

/* One CBOW window as word2vec.c trains it: h the mean of the n_in context rows (the sum when
   mean is 0), against n_t output rows out[t] with signs[t] (+1: label 1, -1: label 0), each
   output row updated as it goes; then the whole step -alpha dJ/dh is added to every context row
   (the tool's step, docs/math.md section 16: n_in times the exact step for the mean). For
   distinct targets the output rows take exactly one SGD step of the reference loss at h.
   Returns the cost. scratch: h (d,), grad_h (d,). */
static double cbow_step(float *V, int64_t d, int64_t ld, const int32_t *inputs, int64_t n_in,
                        int64_t mean, float *const *out, const float *signs, int64_t n_t,
                        float alpha, float *h, float *grad_h) {
    memset(h, 0, d * sizeof(float));
    memset(grad_h, 0, d * sizeof(float));
    for (int64_t a = 0; a < n_in; a++) {
        const float *v = V + inputs[a] * ld;
        for (int64_t k = 0; k < d; k++) {
            h[k] += v[k];
        }
    }
    if (mean) {
        float scale = 1.0f / (float)n_in;
        for (int64_t k = 0; k < d; k++) {
            h[k] *= scale;
        }
    }
    double cost = 0.0;
    for (int64_t t = 0; t < n_t; t++) {
        float *u = out[t];
        float f = 0.0f;
        for (int64_t k = 0; k < d; k++) {
            f += h[k] * u[k];
        }
        float s;
        cost += sigmoid_and_cost(signs[t] * f, &s);
        float g = signs[t] * alpha * (1.0f - s);  /* alpha (label - sigma(f)) */
        for (int64_t k = 0; k < d; k++) {
            grad_h[k] += g * u[k];
            u[k] += g * h[k];
        }
    }
    for (int64_t a = 0; a < n_in; a++) {
        float *v = V + inputs[a] * ld;
        for (int64_t k = 0; k < d; k++) {
            v[k] += grad_h[k];
        }
    }
    return cost;
}

/* cbow_step on the output rows U[targets], for checking it against the reference.
   V (W, d; ld), U (n_out, d; ld), inputs (n_in,), targets (n_t,), signs (n_t,);
   scratch: h (d,), grad_h (d,). */
double cbow_update(float *V, int64_t W, float *U, int64_t n_out, int64_t d, int64_t ld,
                   const int32_t *inputs, int64_t n_in, int64_t mean, const int32_t *targets,
                   const float *signs, int64_t n_t, float alpha, float *h, float *grad_h) {
    float *out[n_t + 1];  /* a test's window: a few pointers on the stack */
    rows_of(U, ld, targets, n_t, out);
    return cbow_step(V, d, ld, inputs, n_in, mean, out, signs, n_t, alpha, h, grad_h);
}

/* CBOW with negative sampling over a prepared chunk, V and U trained in place: one cbow_step
   per centre word, against the centre and K negatives drawn for its position (a negative equal
   to the centre is skipped, as in word2vec.c; p->shared plays no part: a window has one h).
   mean: 1 for the mean of the context rows, 0 for their sum.
   sen (n,), state (1,) the generator, advanced; cost (1,) receives the summed cost. Returns the
   number of examples (centre words with a context), or BAD_ID, NO_MEMORY, BAD_SETTING. */
int64_t cbow_neg_chunk(const NegSampling *p, int64_t mean, const int32_t *sen, int64_t n,
                       uint64_t *state, double *cost) {
    const int64_t d = p->d, K = p->K, window = p->window;
    if (window < 1 || K < 0) {
        return BAD_SETTING;
    }
    if (!ids_ok(sen, n, p->W)) {
        return BAD_ID;
    }
    Scratch s;
    if (!scratch_alloc(&s, window, K, d)) {
        return NO_MEMORY;
    }
    float *signs = s.G;  /* (K + 1,): +1 for the centre, -1 for the negatives */
    for (int64_t t = 0; t <= K; t++) {
        signs[t] = t == 0 ? 1.0f : -1.0f;
    }
    uint64_t rng = *state;
    double total = 0.0;
    int64_t examples = 0;
    /* Each position's negatives are drawn one position ahead, so that their rows of U, random
       rows mostly not in cache, load while the window before trains (as neg_chunk does). */
    int32_t *ahead = s.ahead;  /* (2, K): this position's negatives and the next one's */
    int64_t slot = 0;
    for (int64_t k = 0; k < K; k++) {
        ahead[k] = draw(&rng, p->alias_prob, p->alias_idx, p->W);
    }
    for (int64_t start = 0, end; start <= n; start = end + 1) {
        end = sentence_end(sen, n, start);
        for (int64_t i = start; i < end; i++) {
            int64_t lo, hi;
            dynamic_window(start, end, i, window, &rng, &lo, &hi);
            int32_t *upcoming = ahead + (1 - slot) * K;
            for (int64_t k = 0; k < K; k++) {
                upcoming[k] = draw(&rng, p->alias_prob, p->alias_idx, p->W);
                prefetch_row(p->U + upcoming[k] * p->ld, d);
            }
            if (i + 1 < end) {  /* the next centre's row, and the row its window adds */
                prefetch_row(p->U + sen[i + 1] * p->ld, d);
                prefetch_added_row(p->V, p->ld, d, sen, i + 1, end, window);
            }
            const int32_t *negatives = ahead + slot * K;
            slot = 1 - slot;
            int64_t n_in = context_of(sen, lo, hi, i, s.inputs);
            if (n_in == 0) {
                continue;
            }
            int64_t n_t = centre_then(sen[i], negatives, K, s.targets);
            rows_of(p->U, p->ld, s.targets, n_t, s.rows);
            total += cbow_step(p->V, d, p->ld, s.inputs, n_in, mean, s.rows, signs, n_t, p->alpha,
                               s.grad_in, s.grad_in + d);
            examples += 1;
        }
    }
    free(s.block);
    *state = rng;
    *cost = total;
    return examples;
}

/* What a chunk of hierarchical softmax trains, and how. */
typedef struct {
    float *V;                /* (W, d; ld) input vectors; trained in place */
    float *U;                /* (nodes, d; ld) the inner nodes' output vectors; trained in place */
    const int32_t *points;   /* (W, L) each word's inner nodes, root first (w2v/huffman.py) */
    const float *signs;      /* (W, L) +1 for a branch with bit 0, -1 for bit 1 */
    const int32_t *lengths;  /* (W,) each word's path length, at most L */
    int64_t W;               /* words in the vocabulary */
    int64_t nodes;           /* inner nodes: W - 1 */
    int64_t L;               /* the longest path */
    int64_t d;               /* vector size */
    int64_t ld;              /* rows of V and U start ld >= d floats apart */
    int64_t window;          /* the largest radius of a dynamic window */
    int64_t cbow;            /* 1: CBOW (the window's h predicts the centre); 0: skip-gram */
    int64_t mean;            /* CBOW: 1 for the mean of the context rows, 0 for their sum */
    int64_t hot;             /* 1: train the busiest nodes in copies (HotNodes): other threads */
    float alpha;             /* the learning rate */
} HSoftmax;

/* Every path starts at the root, so every window writes the few inner nodes near it. With several
   threads, the cache lines of those rows would move from core to core at every window, and the
   threads' read-modify-writes of them would race: with skip-gram, 2 threads took 26% more CPU
   time per word than 1 and scored lower. So a chunk trains copies of its own of the HOT_NODES
   busiest nodes, the last rows of U (w2v/huffman.py numbers the inner nodes in the order of
   their counts, the root last), and every HOT_FLUSH windows adds what it changed in them to the
   shared rows and copies all of them again: it sees its own steps at once and the other threads'
   up to HOT_FLUSH windows late. With one thread there is nothing to share: no copies (hot 0). */
#define HOT_NODES 64  /* a bit each in HotNodes.touched */
#define HOT_FLUSH 32

typedef struct {
    float *block;
    float *rows;    /* (H, ld) this chunk's copies of nodes first..first+H-1 */
    float *copied;  /* (H, ld) the shared rows as they were copied */
    int64_t first;  /* the first hot node: nodes - H */
    int64_t H;
    uint64_t touched;  /* bit r: row r was trained since the last flush */
} HotNodes;

/* Copies the shared rows of the hot nodes (d values of each). */
static void hot_load(HotNodes *hot, const float *U, int64_t d, int64_t ld) {
    for (int64_t r = 0; r < hot->H; r++) {
        const float *u = U + (hot->first + r) * ld;
        memcpy(hot->rows + r * ld, u, d * sizeof(float));
        memcpy(hot->copied + r * ld, u, d * sizeof(float));
    }
}

static int hot_alloc(HotNodes *hot, int64_t wanted, const float *U, int64_t nodes, int64_t d,
                     int64_t ld) {
    hot->H = !wanted ? 0 : nodes < HOT_NODES ? nodes : HOT_NODES;
    hot->first = nodes - hot->H;
    size_t bytes = whole_lines(2 * hot->H * ld * sizeof(float));
    hot->block = calloc(bytes + CACHE_LINE, 1);
    if (hot->block == NULL) {
        return 0;
    }
    hot->rows = (float *)((char *)hot->block + CACHE_LINE - (uintptr_t)hot->block % CACHE_LINE);
    hot->copied = hot->rows + hot->H * ld;
    hot->touched = 0;
    hot_load(hot, U, d, ld);
    return 1;
}

/* Adds this chunk's changes to the hot nodes it trained to the shared rows, then copies every
   hot row again (with the other threads' changes). */
static void hot_flush(HotNodes *hot, float *U, int64_t d, int64_t ld) {
    for (int64_t r = 0; r < hot->H; r++) {
        if (!((hot->touched >> r) & 1)) {
            continue;
        }
        float *u = U + (hot->first + r) * ld;
        const float *mine = hot->rows + r * ld, *was = hot->copied + r * ld;
        for (int64_t k = 0; k < d; k++) {
            u[k] += mine[k] - was[k];
        }
    }
    hot_load(hot, U, d, ld);  /* all: a row trained rarely is not left stale */
    hot->touched = 0;
}

/* out[t]: where the row of the path's node path[t] is, its copy for a hot node. */
static void path_rows(HotNodes *hot, float *U, int64_t ld, const int32_t *path, int64_t L,
                      float **out) {
    for (int64_t t = 0; t < L; t++) {
        int64_t r = path[t] - hot->first;
        if (r >= 0) {
            out[t] = hot->rows + r * ld;
            hot->touched |= (uint64_t)1 << r;
        } else {
            out[t] = U + path[t] * ld;
        }
    }
}

/* Asks the CPU to load the rows of word c's inner nodes that are not hot: those deep in the
   tree are rarely in cache. */
static void prefetch_path(const HotNodes *hot, const HSoftmax *p, int32_t c) {
    const int32_t *path = p->points + c * p->L;
    for (int64_t t = 0; t < p->lengths[c]; t++) {
        if (path[t] < hot->first) {
            prefetch_row(p->U + path[t] * p->ld, p->d);
        }
    }
}

/* Asks the CPU to load word c's code: its path's nodes and signs, and its length. With a
   large vocabulary these tables do not fit in cache. */
static void prefetch_code(const HSoftmax *p, int32_t c) {
    __builtin_prefetch(p->lengths + c, 0, 3);
    for (int64_t t = 0; t < p->L; t += CACHE_LINE / sizeof(int32_t)) {
        __builtin_prefetch(p->points + c * p->L + t, 0, 3);
        __builtin_prefetch(p->signs + c * p->L + t, 0, 3);
    }
}

/* Hierarchical softmax over a prepared chunk, V and U trained in place. Skip-gram: each window's
   context rows walk the centre's path together (path_window_update's block); CBOW: the window's
   h walks it (cbow_step). With hot, the busiest nodes are trained in copies of the chunk's own
   (HotNodes). No random numbers but the windows' radii.
   sen (n,), state (1,) the generator, advanced; cost (1,) receives the summed cost. Returns the
   number of examples (pairs for skip-gram, centre words with a context for CBOW), or BAD_ID,
   NO_MEMORY, BAD_SETTING. */
int64_t hs_chunk(const HSoftmax *p, const int32_t *sen, int64_t n, uint64_t *state,
                 double *cost) {
    const int64_t d = p->d, window = p->window;
    if (window < 1 || p->L < 1) {
        return BAD_SETTING;
    }
    if (!ids_ok(sen, n, p->W)) {
        return BAD_ID;
    }
    Scratch s;
    HotNodes hot;
    if (!scratch_alloc(&s, window, p->L, d)) {
        return NO_MEMORY;
    }
    if (!hot_alloc(&hot, p->hot, p->U, p->nodes, d, p->ld)) {
        free(s.block);
        return NO_MEMORY;
    }
    uint64_t rng = *state;
    double total = 0.0;
    int64_t examples = 0, since_flush = 0;
    for (int64_t start = 0, end; start <= n; start = end + 1) {
        end = sentence_end(sen, n, start);
        for (int64_t i = start; i < end; i++) {
            int64_t lo, hi;
            dynamic_window(start, end, i, window, &rng, &lo, &hi);
            if (i + 2 < end) {  /* the centre after next: which nodes its path takes, so */
                prefetch_code(p, sen[i + 2]);  /* that prefetch_path does not wait for them */
            }
            if (i + 1 < end) {  /* the next centre's path (the copies are in cache already) */
                prefetch_path(&hot, p, sen[i + 1]);
                prefetch_added_row(p->V, p->ld, d, sen, i + 1, end, window);
            }
            int64_t n_in = context_of(sen, lo, hi, i, s.inputs);
            int32_t c = sen[i];
            int64_t L = p->lengths[c];
            if (n_in == 0 || L == 0) {
                continue;
            }
            const float *signs = p->signs + c * p->L;
            float **out = s.rows + n_in;
            path_rows(&hot, p->U, p->ld, p->points + c * p->L, L, out);
            if (p->cbow) {
                total += cbow_step(p->V, d, p->ld, s.inputs, n_in, p->mean, out, signs, L,
                                   p->alpha, s.grad_in, s.grad_in + d);
                examples += 1;
            } else {
                rows_of(p->V, p->ld, s.inputs, n_in, s.rows);
                total += block_update(s.rows, n_in, out, L, signs, NULL, d, p->alpha, s.grad_in,
                                      s.G);
                examples += n_in;
            }
            if (++since_flush == HOT_FLUSH) {
                hot_flush(&hot, p->U, d, p->ld);
                since_flush = 0;
            }
        }
    }
    hot_flush(&hot, p->U, d, p->ld);
    free(hot.block);
    free(s.block);
    *state = rng;
    *cost = total;
    return examples;
}

/* All CBOW windows of a prepared chunk under dynamic windows, for the full softmax (numpy).
   sen (n,); state (1,) the generator, advanced; contexts (2 * window * n,) receives the windows'
   context words one window after another, sizes (n,) how many each has, centres (n,) their centre
   words. Returns the number of windows (centre words with a context), or BAD_SETTING. */
int64_t cbow_windows(const int32_t *sen, int64_t n, int64_t window, uint64_t *state,
                     int32_t *contexts, int32_t *sizes, int32_t *centres) {
    if (window < 1) {
        return BAD_SETTING;
    }
    uint64_t rng = *state;
    int64_t m = 0, filled = 0;
    for (int64_t start = 0, end; start <= n; start = end + 1) {
        end = sentence_end(sen, n, start);
        for (int64_t i = start; i < end; i++) {
            int64_t lo, hi;
            dynamic_window(start, end, i, window, &rng, &lo, &hi);
            int64_t n_in = context_of(sen, lo, hi, i, contexts + filled);
            if (n_in > 0) {
                filled += n_in;
                sizes[m] = (int32_t)n_in;
                centres[m++] = sen[i];
            }
        }
    }
    *state = rng;
    return m;
}

/* ---------------------------------------------------------------------------------------------
   the full softmax's helpers (its matrix products run in numpy: w2v/steps.py) */

/* All (input, output) pairs of a prepared chunk under dynamic windows.
   sen (n,); state (1,) the generator, advanced; inputs (2 * window * n,) and
   outputs (2 * window * n,) receive the pairs. Returns how many, or BAD_SETTING. */
int64_t skipgram_pairs(const int32_t *sen, int64_t n, int64_t window, uint64_t *state,
                       int32_t *inputs, int32_t *outputs) {
    if (window < 1) {
        return BAD_SETTING;
    }
    uint64_t rng = *state;
    int64_t m = 0;
    for (int64_t start = 0, end; start <= n; start = end + 1) {
        end = sentence_end(sen, n, start);
        for (int64_t i = start; i < end; i++) {
            int64_t lo, hi;
            dynamic_window(start, end, i, window, &rng, &lo, &hi);
            for (int64_t j = lo; j < hi; j++) {
                if (j != i) {
                    inputs[m] = sen[j];
                    outputs[m++] = sen[i];
                }
            }
        }
    }
    *state = rng;
    return m;
}

/* M[rows[i]] += scale * G[i] for every i, accumulating repeated rows (in place).
   M (W, d; ld), rows (n,), G (n, d). Returns 0, or BAD_ID for a row outside M. */
int64_t scatter_add_rows(float *M, int64_t W, int64_t d, int64_t ld, const int32_t *rows,
                         int64_t n, const float *G, float scale) {
    for (int64_t i = 0; i < n; i++) {
        if (rows[i] < 0 || rows[i] >= W) {
            return BAD_ID;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        float *row = M + rows[i] * ld;
        for (int64_t k = 0; k < d; k++) {
            row[k] += scale * G[i * d + k];
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   the negative sampler's tables */

/* Vose's alias tables for a distribution p over W words.
   scaled (W,) p * W, overwritten; prob (W,) and alias (W,) receive the tables: bucket i keeps i
   with probability prob[i], else gives alias[i]. Returns 0, or NO_MEMORY. */
int64_t build_alias(double *scaled, int64_t W, float *prob, int32_t *alias) {
    /* (W + 1): never malloc(0), which may return NULL */
    int64_t *small = malloc((W + 1) * sizeof(int64_t)), *large = malloc((W + 1) * sizeof(int64_t));
    if (small == NULL || large == NULL) {
        free(small);
        free(large);
        return NO_MEMORY;
    }
    int64_t ns = 0, nl = 0;
    for (int64_t i = 0; i < W; i++) {
        prob[i] = 1.0f;
        alias[i] = (int32_t)i;
        if (scaled[i] < 1.0) {
            small[ns++] = i;
        } else {
            large[nl++] = i;
        }
    }
    while (ns > 0 && nl > 0) {
        int64_t s = small[--ns], g = large[nl - 1];
        prob[s] = (float)scaled[s];
        alias[s] = (int32_t)g;
        scaled[g] = (scaled[g] + scaled[s]) - 1.0;
        if (scaled[g] < 1.0) {
            nl--;
            small[ns++] = g;
        }
    }
    free(small);
    free(large);
    return 0;
}
