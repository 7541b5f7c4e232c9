/* minGRU / minLSTM over a whole sequence (rnnkit.recurrence.diagonal: equations there and in rnnkit.cells.minimal):
 * the gate math and the linear recurrence h_t = a_t ⊙ h_{t-1} + b_t in one pass forward, and in one reverse pass
 * backward (the coefficients are recomputed from xw there, so only xw, the states and h_0 are kept).
 *
 * kind 0 = minGRU (xw = [k v]: a = σ(−k), b = σ(k) g(v)); kind 1 = minLSTM (xw = [k_f k_i v]: f, i = σ(k_f), σ(k_i),
 * a = f / (f + i) = σ(softplus(−k_i) − softplus(−k_f)), b = (1 − a) g(v)); g(v) = v + ½ for v ≥ 0, σ(v) below.
 * XW (T, B, G·H), states OUT (T, B, H),
 * h0 (B, H), step mask M (T, B) of 0/1 or NULL (a padded step keeps the state: a = 1, b = 0). Only the batch rows
 * b0 ≤ b < b1 are computed: the rows are independent, so the minimal_sequence_* calls run n_pieces ranges of them at
 * once on torch's OpenMP threads (pieces.h).
 */
#include <math.h>
#include <stddef.h>

#include "activations.h"
#include "pieces.h"

#define DEFINE_MIN(T, SFX, exp_, log1p_)                                                                              \
void minimal_forward_##SFX(long kind, long Tn, long B, long b0, long b1, long H, const T *XW, const T *h0,            \
                           const T *M, T *OUT) {                                                                      \
    long G = (kind ? 3 : 2) * H;                                                                                      \
    for (long t = 0; t < Tn; t++)                                                                                     \
        for (long b = b0; b < b1; b++) {                                                                              \
            const T *restrict xw = XW + (t * B + b) * G;                                                              \
            const T *restrict hp = t ? OUT + ((t - 1) * B + b) * H : h0 + b * H;                                      \
            T *restrict h = OUT + (t * B + b) * H;                                                                    \
            if (M && M[t * B + b] == 0) {                                                                             \
                for (long j = 0; j < H; j++) h[j] = hp[j];                                                            \
                continue;                                                                                             \
            }                                                                                                         \
            const T *restrict v = xw + (G - H);                                                                       \
            if (kind)                                                                                                 \
                for (long j = 0; j < H; j++) {                                                                        \
                    T gv = v[j] >= 0 ? v[j] + (T)0.5 : SIGMOID(T, exp_, v[j]);                                        \
                    T f = SIGMOID(T, exp_, xw[j]), i = SIGMOID(T, exp_, xw[H + j]);                                   \
                    T d = SOFTPLUS(T, exp_, log1p_, -xw[H + j]) - SOFTPLUS(T, exp_, log1p_, -xw[j]);                  \
                    T a = SIGMOID(T, exp_, d);                                                                        \
                    h[j] = a * hp[j] + (1 - a) * gv;                                                                  \
                }                                                                                                     \
            else                                                                                                      \
                for (long j = 0; j < H; j++) {                                                                        \
                    T gv = v[j] >= 0 ? v[j] + (T)0.5 : SIGMOID(T, exp_, v[j]);                                        \
                    T a = SIGMOID(T, exp_, -xw[j]);                                                                   \
                    h[j] = a * hp[j] + (1 - a) * gv;                                                                  \
                }                                                                                                     \
        }                                                                                                             \
}                                                                                                                     \
                                                                                                                      \
void minimal_backward_##SFX(long kind, long Tn, long B, long b0, long b1, long H, const T *XW, const T *h0,           \
                            const T *OUT, const T *M, const T *GR, T *DXW, T *DH0) {                                  \
    long G = (kind ? 3 : 2) * H;                                                                                      \
    for (long t = Tn - 1; t >= 0; t--)                                                                                \
        for (long b = b0; b < b1; b++) {                                                                              \
            const T *restrict xw = XW + (t * B + b) * G;                                                              \
            const T *restrict hp = t ? OUT + ((t - 1) * B + b) * H : h0 + b * H;                                      \
            const T *restrict gr = GR ? GR + (t * B + b) * H : NULL;                                                  \
            T *restrict dxw = DXW + (t * B + b) * G, *restrict carry = DH0 + b * H;                                   \
            if (gr)                                                                                                   \
                for (long j = 0; j < H; j++) carry[j] += gr[j];                                                       \
            if (M && M[t * B + b] == 0) {                                                                             \
                for (long k = 0; k < G; k++) dxw[k] = 0;                                                              \
                continue;                                                                                             \
            }                                                                                                         \
            const T *restrict v = xw + (G - H);                                                                       \
            T *restrict dv = dxw + (G - H);                                                                           \
            if (kind)                                                                                                 \
                _Pragma("GCC ivdep") for (long j = 0; j < H; j++) {                                                   \
                    T Gt = carry[j], sv = SIGMOID(T, exp_, v[j]);                                                     \
                    T gv = v[j] >= 0 ? v[j] + (T)0.5 : sv, slope = v[j] >= 0 ? 1 : sv * (1 - sv);                     \
                    T f = SIGMOID(T, exp_, xw[j]), i = SIGMOID(T, exp_, xw[H + j]);                                   \
                    T d = SOFTPLUS(T, exp_, log1p_, -xw[H + j]) - SOFTPLUS(T, exp_, log1p_, -xw[j]);                  \
                    T a = SIGMOID(T, exp_, d);                                                                        \
                    T da = Gt * (hp[j] - gv) * a * (1 - a);                                                           \
                    dxw[j] = da * (1 - f);                                                                            \
                    dxw[H + j] = -da * (1 - i);                                                                       \
                    dv[j] = Gt * (1 - a) * slope;                                                                     \
                    carry[j] = a * Gt;                                                                                \
                }                                                                                                     \
            else                                                                                                      \
                _Pragma("GCC ivdep") for (long j = 0; j < H; j++) {                                                   \
                    T Gt = carry[j], sv = SIGMOID(T, exp_, v[j]);                                                     \
                    T gv = v[j] >= 0 ? v[j] + (T)0.5 : sv, slope = v[j] >= 0 ? 1 : sv * (1 - sv);                     \
                    T s = SIGMOID(T, exp_, xw[j]);                                                                    \
                    dxw[j] = Gt * (gv - hp[j]) * s * (1 - s);                                                         \
                    dv[j] = Gt * s * slope;                                                                           \
                    carry[j] = (1 - s) * Gt;                                                                          \
                }                                                                                                     \
        }                                                                                                             \
}                                                                                                                     \
                                                                                                                      \
void minimal_sequence_forward_##SFX(long n_pieces, long kind, long Tn, long B, long H, const T *XW, const T *h0,      \
                                    const T *M, T *OUT) {                                                             \
    PIECES(minimal_forward_##SFX(kind, Tn, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, XW, h0, M, OUT));          \
}                                                                                                                     \
                                                                                                                      \
void minimal_sequence_backward_##SFX(long n_pieces, long kind, long Tn, long B, long H, const T *XW, const T *h0,     \
                                     const T *OUT, const T *M, const T *GR, T *DXW, T *DH0) {                         \
    PIECES(minimal_backward_##SFX(kind, Tn, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, XW, h0, OUT, M, GR, DXW,  \
                                  DH0));                                                                              \
}

DEFINE_MIN(float, f32, expf, log1pf)
DEFINE_MIN(double, f64, exp, log1p)
