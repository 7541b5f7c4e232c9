/* A small matrix product for the compiled whole-sequence loops: C (m × n) = A B (+ C), with B (k × n) and C
 * row-major and A read through strides, so both A and Aᵀ come without a copy:
 *   A(i, p) = A[i · ai + p · ap]      (ai = k, ap = 1: A row-major;  ai = 1, ap = m: A is the transpose of a (k × m))
 *
 * The recurrent products are small (at hidden size 128 a step multiplies 16–32 rows by a 128 × 512 weight) and the
 * same every step, so they are run here rather than by a BLAS call per step: register tiles of MR rows × 2 vectors
 * (2·MR accumulators, one broadcast of A and two loads of B per 2·MR multiply-adds), over columns in the outer loop so
 * that a panel of B stays in L1 while the rows go by. Vectors are GCC vector extensions as wide as the target's
 * registers: 64 bytes and 8-row tiles (16 of the 32 zmm registers) on AVX-512, 32 bytes and 6-row tiles (12 of the
 * 16 ymm registers) on AVX/AVX2, 16 bytes and 6-row tiles on SSE-only or ARM builds. (64-byte vectors on an AVX2
 * CPU, as before session 46, split every accumulator in two and spilled the tile to memory: a GRU's whole-sequence
 * loop ran ~17x slower than torch's own operations there.)
 * Leftover rows take 1-row tiles, leftover columns 1-vector tiles and then one zero-padded vector (not a scalar loop,
 * whose multiply-adds the compiler may round differently from the vectors' fused ones).
 */
#include <string.h>

#include "pieces.h"

#if defined(__AVX512F__)
#define VB 64  /* bytes per vector: one zmm register */
#define MR 8   /* rows per tile: 8 × 2 accumulators of the 32 zmm registers */
#elif defined(__AVX__)
#define VB 32  /* one ymm register */
#define MR 6   /* 6 × 2 accumulators + 2 of B + a broadcast fit the 16 ymm registers */
#else
#define VB 16  /* one xmm (SSE) or NEON register: the portable build, or an ARM CPU */
#define MR 6
#endif
#define KB 256

#define DEFINE(T, SFX)                                                                                                \
typedef T vec_##SFX __attribute__((vector_size(VB)));                                                                 \
typedef T uvec_##SFX __attribute__((vector_size(VB), aligned(sizeof(T))));                                           \
enum { L_##SFX = VB / sizeof(T) };                                                                                    \
                                                                                                                      \
/* rows × (nv vectors) of C from the k-long strips of A's rows and B's columns */                                    \
static inline __attribute__((always_inline)) void tile_##SFX(long rows, long nv, long k, const T *A, long ai,         \
                                                             long ap, const T *B, long ldb, T *C, long ldc,           \
                                                             int add) {                                               \
    vec_##SFX c[MR][2];                                                                                               \
    for (long i = 0; i < rows; i++)                                                                                   \
        for (long v = 0; v < nv; v++)                                                                                 \
            c[i][v] = (vec_##SFX){0};                                                                                 \
    for (long p = 0; p < k; p++) {                                                                                    \
        vec_##SFX b[2];                                                                                               \
        for (long v = 0; v < nv; v++)                                                                                 \
            b[v] = *(const uvec_##SFX *)(B + p * ldb + v * L_##SFX);                                                  \
        for (long i = 0; i < rows; i++) {                                                                             \
            T a = A[i * ai + p * ap];                                                                                 \
            for (long v = 0; v < nv; v++)                                                                             \
                c[i][v] += a * b[v];                                                                                  \
        }                                                                                                             \
    }                                                                                                                 \
    for (long i = 0; i < rows; i++)                                                                                   \
        for (long v = 0; v < nv; v++) {                                                                               \
            uvec_##SFX *out = (uvec_##SFX *)(C + i * ldc + v * L_##SFX);                                              \
            *out = add ? *out + c[i][v] : c[i][v];                                                                    \
        }                                                                                                             \
}                                                                                                                     \
                                                                                                                      \
/* the four shapes of tile, each with constant sizes (so the accumulators live in registers) */                      \
static void tile_Mx2_##SFX(long k, const T *A, long ai, long ap, const T *B, long ldb, T *C, long ldc, int add) {    \
    tile_##SFX(MR, 2, k, A, ai, ap, B, ldb, C, ldc, add);                                                             \
}                                                                                                                     \
static void tile_Mx1_##SFX(long k, const T *A, long ai, long ap, const T *B, long ldb, T *C, long ldc, int add) {    \
    tile_##SFX(MR, 1, k, A, ai, ap, B, ldb, C, ldc, add);                                                             \
}                                                                                                                     \
static void tile_1x2_##SFX(long k, const T *A, long ai, long ap, const T *B, long ldb, T *C, long ldc, int add) {    \
    tile_##SFX(1, 2, k, A, ai, ap, B, ldb, C, ldc, add);                                                              \
}                                                                                                                     \
static void tile_1x1_##SFX(long k, const T *A, long ai, long ap, const T *B, long ldb, T *C, long ldc, int add) {    \
    tile_##SFX(1, 1, k, A, ai, ap, B, ldb, C, ldc, add);                                                              \
}                                                                                                                     \
                                                                                                                      \
/* the last w < L columns: the same vector arithmetic on zero-padded copies of their strips of B and C, so that    \
 * every column's sum is formed alike (equal columns of B give equal columns of C, as in a BLAS) */                 \
static void tail_##SFX(long m, long w, long kb, const T *A, long ai, long ap, const T *B, long ldb, T *C, long ldc,   \
                       int add) {                                                                                     \
    T bp[KB * L_##SFX], cp[L_##SFX];                                                                                  \
    for (long p = 0; p < kb; p++) {                                                                                   \
        memcpy(bp + p * L_##SFX, B + p * ldb, sizeof(T) * w);                                                         \
        memset(bp + p * L_##SFX + w, 0, sizeof(T) * (L_##SFX - w));                                                  \
    }                                                                                                                 \
    for (long i = 0; i < m; i++) {                                                                                    \
        memset(cp, 0, sizeof cp);                                                                                     \
        if (add)                                                                                                      \
            memcpy(cp, C + i * ldc, sizeof(T) * w);                                                                   \
        tile_1x1_##SFX(kb, A + i * ai, ai, ap, bp, L_##SFX, cp, L_##SFX, add);                                        \
        memcpy(C + i * ldc, cp, sizeof(T) * w);                                                                       \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* C (m × n, ldc) = A B, or C + A B if add; A(i, p) = A[i·ai + p·ap]; B (k × n, ldb). Blocks of KB terms keep a    \
 * panel of B (KB × 2 vectors) in L1 when k is long (∂L/∂W over all steps: k = T·B); each block's terms are summed  \
 * from zero and then added to C, so a long sum's rounding error grows with KB, not with k (as a BLAS's blocks do). */\
void gemm_##SFX(long m, long n, long k, const T *A, long ai, long ap, const T *B, long ldb, T *C, long ldc,           \
                int add) {                                                                                            \
    if (k <= 0 && !add)  /* an empty sum */                                                                           \
        for (long i = 0; i < m; i++)                                                                                  \
            memset(C + i * ldc, 0, sizeof(T) * n);                                                                    \
    for (long p0 = 0; p0 < k; p0 += KB) {                                                                             \
        long kb = k - p0 < KB ? k - p0 : KB;                                                                          \
        const T *a = A + p0 * ap, *b = B + p0 * ldb;                                                                  \
        int acc = add || p0 > 0;                                                                                      \
        long j = 0;                                                                                                   \
        for (; j + 2 * L_##SFX <= n; j += 2 * L_##SFX) {                                                              \
            long i = 0;                                                                                               \
            for (; i + MR <= m; i += MR)                                                                              \
                tile_Mx2_##SFX(kb, a + i * ai, ai, ap, b + j, ldb, C + i * ldc + j, ldc, acc);                        \
            for (; i < m; i++)                                                                                        \
                tile_1x2_##SFX(kb, a + i * ai, ai, ap, b + j, ldb, C + i * ldc + j, ldc, acc);                        \
        }                                                                                                             \
        for (; j + L_##SFX <= n; j += L_##SFX) {                                                                      \
            long i = 0;                                                                                               \
            for (; i + MR <= m; i += MR)                                                                              \
                tile_Mx1_##SFX(kb, a + i * ai, ai, ap, b + j, ldb, C + i * ldc + j, ldc, acc);                        \
            for (; i < m; i++)                                                                                        \
                tile_1x1_##SFX(kb, a + i * ai, ai, ap, b + j, ldb, C + i * ldc + j, ldc, acc);                        \
        }                                                                                                             \
        if (j < n)                                                                                                    \
            tail_##SFX(m, n - j, kb, a, ai, ap, b + j, ldb, C + j, ldc, acc);                                         \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* gemm over the rows of C cut into n_pieces ranges, one OpenMP thread each; with BIAS (n), C = A B + BIAS (add = 0) \
 * — each range's rows set to the bias a block at a time just before their product adds to them */                  \
void gemm_pieces_##SFX(long n_pieces, long m, long n, long kk, const T *A, long ai, long ap, const T *B, long ldb,     \
                       T *C, long ldc, int add, const T *BIAS) {                                                      \
    PIECES({                                                                                                          \
        long r1 = m * (k + 1) / n_pieces;                                                                             \
        for (long r = m * k / n_pieces; r < r1; r += 64) {                                                           \
            long rows = r1 - r < 64 ? r1 - r : 64;                                                                    \
            if (BIAS)                                                                                                 \
                for (long i = 0; i < rows; i++)                                                                       \
                    memcpy(C + (r + i) * ldc, BIAS, sizeof(T) * n);                                                   \
            gemm_##SFX(rows, n, kk, A + r * ai, ai, ap, B, ldb, C + r * ldc, ldc, add || BIAS);                      \
        }                                                                                                             \
    });                                                                                                               \
}

DEFINE(float, f32)
DEFINE(double, f64)
