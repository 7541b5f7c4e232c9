/* The LSTM, GRU and SimpleRNN over a whole sequence in one call each way (rnnkit.recurrence.bptt's *Sequence:
 * equations and layouts there), for the batch rows cut into n_pieces ranges run at once on torch's OpenMP threads
 * (pieces.h), the recurrent products by gemm.c — the torch-operation loops of bptt.py, no step returning to Python.
 *
 * SimpleRNN. HN (T, B, H) holds xw_t on entry; each step adds h_{t-1} W_hhᵀ and applies φ (tanh, or relu) in place,
 * leaving the candidates h̃_t; Y is HN itself without a mask, else the carried states. Backward: DA (T, B, H) gets
 * δa_t = m ḣ_t φ'(a_t); ḣ_{t-1} = ∂L/∂y_{t-1} + (1 − m) ḣ_t + δa_t W_hh.
 *
 * LSTM.
 * Forward: ACT (T, B, 4H) holds xw_t in gate order i, f, o, g on entry (the input projection for all steps); each step
 * adds h_{t-1} W_hhᵀ into it (W_T = the reordered W_hh, transposed: (H, 4H)) and squashes it in place, so it leaves
 * the gates backward needs; C (T, B, H) the carried cells, TC tanh(c̃_t), Y the carried states. A step mask M (T, B)
 * of 0/1 (or NULL): a masked step keeps the state (the gates and TC are still those of the step).
 * Backward: DH (B, H) ḣ_T on entry, DN (B, H) scratch (the two swap every step: ∂L/∂h_0 ends in DH when T is even,
 * else in DN); DC (B, H) ċ_T on entry, ∂L/∂c_0 on exit; DY (T, B, H) ∂L/∂y or NULL; DG (T, B, 4H) gets δa_t in torch's
 * gate order i, f, g, o (= ∂L/∂xw_t), and ḣ_{t-1} = ∂L/∂y_{t-1} + (1 − m) ḣ_t + δa_t W_hh (W: torch's order).
 *
 * GRU. Forward: S (T, B, 3H) holds [xw_r + b_hr, xw_z + b_hz, b_hn] on entry and N (T, B, H) xw_n; each step adds
 * h_{t-1} W_hhᵀ into S_t (W_T: (H, 3H)) and leaves [r, z, gh_n] there, n_t in N, h_t = n + z (h_{t-1} − n) in Y.
 * Backward (DH, DN, DY as the LSTM's): DGH (T, B, 3H) gets δgh_t = [δa_r, δa_z, δa_n ⊙ r] (what W_hh multiplies) and
 * DXN (T, B, H) δa_n; ḣ_{t-1} = ∂L/∂y_{t-1} + (m z + 1 − m) ḣ_t + δgh_t W_hh.
 */
#include <math.h>
#include <stddef.h>

#include "activations.h"
#include "pieces.h"

#define DEFINE(T, SFX, exp_, tanh_)                                                                                   \
void gemm_##SFX(long, long, long, const T *, long, long, const T *, long, T *, long, int);                            \
                                                                                                                      \
static void lstm_rows_forward_##SFX(long n_steps, long B, long b0, long b1, long H, const T *W_T, T *ACT,             \
                                    const T *h0, const T *c0, const T *M, T *C, T *TC, T *Y) {                        \
    long G = 4 * H;                                                                                                   \
    for (long t = 0; t < n_steps; t++) {                                                                              \
        const T *hp0 = t ? Y + (t - 1) * B * H : h0, *cp0 = t ? C + (t - 1) * B * H : c0;                             \
        gemm_##SFX(b1 - b0, G, H, hp0 + b0 * H, H, 1, W_T, G, ACT + (t * B + b0) * G, G, 1);                          \
        for (long b = b0; b < b1; b++) {                                                                              \
            T *restrict a = ACT + (t * B + b) * G;                                                                    \
            const T *restrict hp = hp0 + b * H, *restrict cp = cp0 + b * H;                                           \
            T *restrict c = C + (t * B + b) * H, *restrict tc = TC + (t * B + b) * H;                                 \
            T *restrict y = Y + (t * B + b) * H;                                                                      \
            T m = M ? M[t * B + b] : 1;                                                                               \
            for (long k = 0; k < 3 * H; k++) a[k] = SIGMOID(T, exp_, a[k]);                                           \
            for (long k = 3 * H; k < G; k++) a[k] = tanh_(a[k]);                                                      \
            const T *restrict i = a, *restrict f = a + H, *restrict o = a + 2 * H, *restrict g = a + 3 * H;           \
            for (long j = 0; j < H; j++) {                                                                            \
                T cn = f[j] * cp[j] + i[j] * g[j];                                                                    \
                tc[j] = tanh_(cn);                                                                                    \
                c[j] = m != 0 ? cn : cp[j];                                                                           \
                y[j] = m != 0 ? o[j] * tc[j] : hp[j];                                                                 \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
static void lstm_rows_backward_##SFX(long n_steps, long B, long b0, long b1, long H, const T *W, const T *ACT,        \
                                     const T *c0, const T *C, const T *TC, const T *M, T *DH, const T *DY, T *DN,     \
                                     T *DC, T *DG) {                                                                  \
    long G = 4 * H;                                                                                                   \
    for (long t = n_steps - 1; t >= 0; t--) {                                                                         \
        for (long b = b0; b < b1; b++) {                                                                              \
            const T *restrict a = ACT + (t * B + b) * G, *restrict tc = TC + (t * B + b) * H;                         \
            const T *restrict cp = t ? C + ((t - 1) * B + b) * H : c0 + b * H;                                        \
            const T *restrict dy = DY && t ? DY + ((t - 1) * B + b) * H : NULL;                                       \
            const T *restrict i = a, *restrict f = a + H, *restrict o = a + 2 * H, *restrict g = a + 3 * H;           \
            T *restrict dh = DH + b * H, *restrict dn = DN + b * H, *restrict dc = DC + b * H;                        \
            T *restrict dg = DG + (t * B + b) * G;                                                                    \
            T m = M ? M[t * B + b] : 1;                                                                               \
            for (long j = 0; j < H; j++) {                                                                            \
                T dcc = m * (dc[j] + dh[j] * o[j] * (1 - tc[j] * tc[j]));                                             \
                dg[j] = dcc * g[j] * i[j] * (1 - i[j]);                                                               \
                dg[H + j] = dcc * cp[j] * f[j] * (1 - f[j]);                                                          \
                dg[2 * H + j] = dcc * i[j] * (1 - g[j] * g[j]);                                                       \
                dg[3 * H + j] = m * dh[j] * tc[j] * o[j] * (1 - o[j]);                                                \
                dc[j] = dcc * f[j] + (1 - m) * dc[j];                                                                 \
                dn[j] = (dy ? dy[j] : 0) + (1 - m) * dh[j];                                                           \
            }                                                                                                         \
        }                                                                                                             \
        gemm_##SFX(b1 - b0, H, G, DG + (t * B + b0) * G, G, 1, W, H, DN + b0 * H, H, 1);                              \
        T *swap = DH;                                                                                                 \
        DH = DN;                                                                                                      \
        DN = swap;                                                                                                    \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
static void gru_rows_forward_##SFX(long n_steps, long B, long b0, long b1, long H, const T *W_T, T *S, T *N,          \
                                   const T *h0, const T *M, T *Y) {                                                   \
    long G = 3 * H;                                                                                                   \
    for (long t = 0; t < n_steps; t++) {                                                                              \
        const T *hp0 = t ? Y + (t - 1) * B * H : h0;                                                                  \
        gemm_##SFX(b1 - b0, G, H, hp0 + b0 * H, H, 1, W_T, G, S + (t * B + b0) * G, G, 1);                            \
        for (long b = b0; b < b1; b++) {                                                                              \
            T *restrict s = S + (t * B + b) * G, *restrict nn = N + (t * B + b) * H, *restrict y = Y + (t * B + b) * H; \
            const T *restrict hp = hp0 + b * H;                                                                       \
            T m = M ? M[t * B + b] : 1;                                                                               \
            for (long k = 0; k < 2 * H; k++) s[k] = SIGMOID(T, exp_, s[k]);                                           \
            for (long j = 0; j < H; j++) {                                                                            \
                T n = tanh_(nn[j] + s[j] * s[2 * H + j]);                                                             \
                nn[j] = n;                                                                                            \
                y[j] = m != 0 ? n + s[H + j] * (hp[j] - n) : hp[j];                                                   \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
static void gru_rows_backward_##SFX(long n_steps, long B, long b0, long b1, long H, const T *W, const T *S,           \
                                    const T *N, const T *h0, const T *Y, const T *M, T *DH, const T *DY, T *DN,       \
                                    T *DGH, T *DXN) {                                                                 \
    long G = 3 * H;                                                                                                   \
    for (long t = n_steps - 1; t >= 0; t--) {                                                                         \
        for (long b = b0; b < b1; b++) {                                                                              \
            const T *restrict s = S + (t * B + b) * G, *restrict n = N + (t * B + b) * H;                             \
            const T *restrict hp = t ? Y + ((t - 1) * B + b) * H : h0 + b * H;                                        \
            const T *restrict dy = DY && t ? DY + ((t - 1) * B + b) * H : NULL;                                       \
            const T *restrict r = s, *restrict z = s + H, *restrict ghn = s + 2 * H;                                  \
            T *restrict dh = DH + b * H, *restrict dn = DN + b * H;                                                   \
            T *restrict dgh = DGH + (t * B + b) * G, *restrict dxn = DXN + (t * B + b) * H;                           \
            T m = M ? M[t * B + b] : 1;                                                                               \
            for (long j = 0; j < H; j++) {                                                                            \
                T hc = m * dh[j], dan = hc * (1 - z[j]) * (1 - n[j] * n[j]);                                          \
                dgh[j] = dan * ghn[j] * r[j] * (1 - r[j]);                                                            \
                dgh[H + j] = hc * (hp[j] - n[j]) * z[j] * (1 - z[j]);                                                 \
                dgh[2 * H + j] = dan * r[j];                                                                          \
                dxn[j] = dan;                                                                                         \
                dn[j] = (dy ? dy[j] : 0) + (m * z[j] + 1 - m) * dh[j];                                                \
            }                                                                                                         \
        }                                                                                                             \
        gemm_##SFX(b1 - b0, H, G, DGH + (t * B + b0) * G, G, 1, W, H, DN + b0 * H, H, 1);                             \
        T *swap = DH;                                                                                                 \
        DH = DN;                                                                                                      \
        DN = swap;                                                                                                    \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void gru_sequence_forward_##SFX(long n_pieces, long n_steps, long B, long H, const T *W_T, T *S, T *N, const T *h0,   \
                                const T *M, T *Y) {                                                                   \
    PIECES(gru_rows_forward_##SFX(n_steps, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, W_T, S, N, h0, M, Y));     \
}                                                                                                                     \
                                                                                                                      \
void gru_sequence_backward_##SFX(long n_pieces, long n_steps, long B, long H, const T *W, const T *S, const T *N,     \
                                 const T *h0, const T *Y, const T *M, T *DH, const T *DY, T *DN, T *DGH, T *DXN) {    \
    PIECES(gru_rows_backward_##SFX(n_steps, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, W, S, N, h0, Y, M, DH,    \
                                   DY, DN, DGH, DXN));                                                                \
}                                                                                                                     \
                                                                                                                      \
static void rnn_rows_forward_##SFX(long n_steps, long B, long b0, long b1, long H, long relu, const T *W_T, T *HN,    \
                                   const T *h0, const T *M, T *Y) {                                                   \
    for (long t = 0; t < n_steps; t++) {                                                                              \
        const T *hp0 = t ? Y + (t - 1) * B * H : h0;                                                                  \
        gemm_##SFX(b1 - b0, H, H, hp0 + b0 * H, H, 1, W_T, H, HN + (t * B + b0) * H, H, 1);                           \
        for (long b = b0; b < b1; b++) {                                                                              \
            T *restrict a = HN + (t * B + b) * H;                                                                     \
            if (relu)                                                                                                 \
                for (long j = 0; j < H; j++) a[j] = a[j] > 0 ? a[j] : 0;                                              \
            else                                                                                                      \
                for (long j = 0; j < H; j++) a[j] = tanh_(a[j]);                                                      \
            if (Y != HN) {                                                                                            \
                const T *restrict hp = hp0 + b * H;                                                                   \
                T *restrict y = Y + (t * B + b) * H, m = M ? M[t * B + b] : 1;                                        \
                for (long j = 0; j < H; j++) y[j] = m != 0 ? a[j] : hp[j];                                            \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
static void rnn_rows_backward_##SFX(long n_steps, long B, long b0, long b1, long H, long relu, const T *W,            \
                                    const T *HN, const T *M, T *DH, const T *DY, T *DN, T *DA) {                      \
    for (long t = n_steps - 1; t >= 0; t--) {                                                                         \
        for (long b = b0; b < b1; b++) {                                                                              \
            const T *restrict hn = HN + (t * B + b) * H;                                                              \
            const T *restrict dy = DY && t ? DY + ((t - 1) * B + b) * H : NULL;                                       \
            T *restrict dh = DH + b * H, *restrict dn = DN + b * H, *restrict da = DA + (t * B + b) * H;              \
            T m = M ? M[t * B + b] : 1;                                                                               \
            for (long j = 0; j < H; j++) {                                                                            \
                T d = relu ? (hn[j] > 0 ? 1 : 0) : 1 - hn[j] * hn[j];                                                 \
                da[j] = m * d * dh[j];                                                                                \
                dn[j] = (dy ? dy[j] : 0) + (1 - m) * dh[j];                                                           \
            }                                                                                                         \
        }                                                                                                             \
        gemm_##SFX(b1 - b0, H, H, DA + (t * B + b0) * H, H, 1, W, H, DN + b0 * H, H, 1);                              \
        T *swap = DH;                                                                                                 \
        DH = DN;                                                                                                      \
        DN = swap;                                                                                                    \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void rnn_sequence_forward_##SFX(long n_pieces, long n_steps, long B, long H, long relu, const T *W_T, T *HN,          \
                                const T *h0, const T *M, T *Y) {                                                      \
    PIECES(rnn_rows_forward_##SFX(n_steps, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, relu, W_T, HN, h0, M, Y)); \
}                                                                                                                     \
                                                                                                                      \
void rnn_sequence_backward_##SFX(long n_pieces, long n_steps, long B, long H, long relu, const T *W, const T *HN,     \
                                 const T *M, T *DH, const T *DY, T *DN, T *DA) {                                      \
    PIECES(rnn_rows_backward_##SFX(n_steps, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, relu, W, HN, M, DH, DY,   \
                                   DN, DA));                                                                          \
}                                                                                                                     \
                                                                                                                      \
void lstm_sequence_forward_##SFX(long n_pieces, long n_steps, long B, long H, const T *W_T, T *ACT, const T *h0,      \
                                 const T *c0, const T *M, T *C, T *TC, T *Y) {                                        \
    PIECES(lstm_rows_forward_##SFX(n_steps, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, W_T, ACT, h0, c0, M, C,   \
                                   TC, Y));                                                                           \
}                                                                                                                     \
                                                                                                                      \
void lstm_sequence_backward_##SFX(long n_pieces, long n_steps, long B, long H, const T *W, const T *ACT, const T *c0, \
                                  const T *C, const T *TC, const T *M, T *DH, const T *DY, T *DN, T *DC, T *DG) {     \
    PIECES(lstm_rows_backward_##SFX(n_steps, B, B * k / n_pieces, B * (k + 1) / n_pieces, H, W, ACT, c0, C, TC, M,    \
                                    DH, DY, DN, DC, DG));                                                             \
}

DEFINE(float, f32, expf, tanhf)
DEFINE(double, f64, exp, tanh)
