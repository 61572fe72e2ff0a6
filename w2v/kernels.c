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
   sigma(x) and -log sigma(x) as tables on [-TABLE_MAX, TABLE_MAX], read with linear interpolation:
   a few flops instead of exp and log per score (log1p(exp) was a large part of the time).
   Interpolation error h^2/8 max|f''| (h = 2 TABLE_MAX / TABLE_SIZE) plus float32 rounding: below
   5e-7 for sigma and 1e-6 for -log sigma; past the ends sigma is 0 or 1 and -log sigma is 0 or
   -x, within 1e-7. */

#define TABLE_MAX 16.0f
#define TABLE_SIZE 8192
static float sigmoid_table[TABLE_SIZE + 1];
static float neg_log_sigmoid_table[TABLE_SIZE + 1];

/* Fills the tables; w2v/native.py calls it once, when it loads the library. */
int64_t init_tables(void) {
    for (int i = 0; i <= TABLE_SIZE; i++) {
        double x = -TABLE_MAX + i * (2.0 * TABLE_MAX / TABLE_SIZE);
        sigmoid_table[i] = (float)(1.0 / (1.0 + exp(-x)));
        neg_log_sigmoid_table[i] = (float)((x < 0 ? -x : 0.0) + log1p(exp(-fabs(x))));
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
    pos = pos > TABLE_SIZE - 1e-3f ? TABLE_SIZE - 1e-3f : pos;  /* i + 1 stays in the table */
    int i = (int)pos;
    float frac = pos - (float)i;
    *s = sigmoid_table[i] + frac * (sigmoid_table[i + 1] - sigmoid_table[i]);
    float below_grid = -z - TABLE_MAX;
    return neg_log_sigmoid_table[i] + frac * (neg_log_sigmoid_table[i + 1] - neg_log_sigmoid_table[i])
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

/* dst[0:d] += x[m * stride] src[m][0:d] over the m < n whose coefficient is not 0. Up to four
   source rows a pass over dst: a quarter of the loads and stores of one at a time. A pair of
   weight 0 has coefficient 0, so a sparse block does only its pairs' work. */
static void add_rows(float *dst, float *const *src, const float *x, int64_t stride, int64_t n,
                     int64_t d) {
    int64_t m[4];
    int held = 0;  /* rows waiting for partners */
    for (int64_t i = 0; i < n; i++) {
        if (x[i * stride] == 0.0f) {
            continue;
        }
        m[held++] = i;
        if (held == 4) {
            float g0 = x[m[0] * stride], g1 = x[m[1] * stride];
            float g2 = x[m[2] * stride], g3 = x[m[3] * stride];
            const float *s0 = src[m[0]], *s1 = src[m[1]], *s2 = src[m[2]], *s3 = src[m[3]];
            for (int64_t k = 0; k < d; k++) {
                dst[k] += (g0 * s0[k] + g1 * s1[k]) + (g2 * s2[k] + g3 * s3[k]);
            }
            held = 0;
        }
    }
    if (held >= 2) {
        float g0 = x[m[0] * stride], g1 = x[m[1] * stride];
        const float *s0 = src[m[0]], *s1 = src[m[1]];
        for (int64_t k = 0; k < d; k++) {
            dst[k] += g0 * s0[k] + g1 * s1[k];
        }
        held -= 2;
        m[0] = m[2];
    }
    if (held == 1) {
        float g0 = x[m[0] * stride];
        const float *s0 = src[m[0]];
        for (int64_t k = 0; k < d; k++) {
            dst[k] += g0 * s0[k];
        }
    }
}

/* f[t] = v . out[t] for every t whose weight is not 0 (weights NULL: every t), 0 for the others:
   the scores of one input row against all its output rows, two outputs a pass over v. */
static void scores_of_row(const float *v, float *const *out, const float *weights, int64_t n_out,
                          int64_t d, float *f) {
    int64_t held = -1;
    for (int64_t t = 0; t < n_out; t++) {
        f[t] = 0.0f;
        if (weights && weights[t] == 0.0f) {
            continue;
        }
        if (held < 0) {
            held = t;
            continue;
        }
        const float *u0 = out[held], *u1 = out[t];
        float f0 = 0.0f, f1 = 0.0f;
        for (int64_t k = 0; k < d; k++) {
            f0 += v[k] * u0[k];
            f1 += v[k] * u1[k];
        }
        f[held] = f0;
        f[t] = f1;
        held = -1;
    }
    if (held >= 0) {
        const float *u0 = out[held];
        float f0 = 0.0f;
        for (int64_t k = 0; k < d; k++) {
            f0 += v[k] * u0[k];
        }
        f[held] = f0;
    }
}

/* The block every skip-gram kernel trains: n_in input rows of V (in[a], v_{inputs[a]}) against
   n_out output rows of U (out[t], u_{outputs[t]}), pair (a, t) counted weights[a * n_out + t]
   times (0: not in the block), with label 1 when signs[t] is +1 and label 0 when it is -1.
   Its cost is
       sum over a, t of  weights[a, t] * -log sigma(signs[t] * v_{inputs[a]} . u_{outputs[t]}),
   and this is one SGD step of it: all scores from the current V and U, then U's rows updated,
   then V's (a row that appears twice, as an input or as an output, collects both steps).
   weights NULL: every pair once; signs NULL: +1 for t = 0, -1 after (a window of negative
   sampling). Hierarchical softmax passes a path's branches as signs; context combining passes
   the counts m_{p,k} as weights. Returns the summed cost.
   Phases over the whole block, each reading rows the one before has just loaded: the scores and
   G = weights * signs * alpha (1 - sigma), row by row; the inputs' steps grad_in = G @ U[outputs];
   the outputs' steps U[outputs] += G^T @ V[inputs]; then V[inputs] += grad_in.
   The rows are passed as pointers (rows_of): the inputs' rows of V, the outputs' of U or of
   hs_chunk's copies; the phases assume no row is both an input and an output.
   scratch: grad_in (n_in, d), G (n_in, n_out). */
static double block_update(float *const *in, int64_t n_in, float *const *out, int64_t n_out,
                           const float *signs, const float *weights, int64_t d, float alpha,
                           float *grad_in, float *G) {
    double cost = 0.0;
    for (int64_t a = 0; a < n_in; a++) {
        const float *w = weights ? weights + a * n_out : NULL;
        float *g = G + a * n_out;
        scores_of_row(in[a], out, w, n_out, d, g);
        for (int64_t t = 0; t < n_out; t++) {  /* z = +-f: cost -log sigma(z), */
            float weight = w ? w[t] : 1.0f;     /* G = +-alpha (1 - sigma(z)), times the weight */
            if (weight == 0.0f) {
                continue;
            }
            float sign = signs ? signs[t] : t == 0 ? 1.0f : -1.0f, s;
            cost += weight * sigmoid_and_cost(sign * g[t], &s);
            g[t] = weight * sign * alpha * (1.0f - s);
        }
    }
    for (int64_t a = 0; a < n_in; a++) {  /* grad_in = G @ U[outputs]: (n_in, n_out) @ (n_out, d) */
        memset(grad_in + a * d, 0, d * sizeof(float));
        add_rows(grad_in + a * d, out, G + a * n_out, 1, n_out, d);
    }
    for (int64_t t = 0; t < n_out; t++) {  /* U[outputs] += G^T @ V[inputs] */
        add_rows(out[t], in, G + t, n_out, n_in, d);
    }
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
