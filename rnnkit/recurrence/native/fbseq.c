/* The Gated-Feedback RNN's tanh layers over a whole sequence in one call each way: the steps of feedback.c with each
 * layer's product in between (gemm.c), so no step returns to Python — the loops of bptt_feedback's
 * feedback_native.tanh_forward/tanh_backward, written out here for a range of batch rows, n_pieces ranges at once on
 * torch's OpenMP threads (pieces.h). Every array is shared by the ranges; each range touches only its own rows.
 *
 * Layout (as bptt_feedback): HS, dHS (T+1, B, L·H) all layers' states side by side; IN[j], DIN[j] (T, B, R) each
 * layer's [xw, gx] and [δxw, δgx], R = H + L gated or H; G (T, L, B, L) the gates or NULL; M (T, B) or NULL.
 * Per layer j, with K_0 = L·H and K_j = H + L·H above: WF[j] (K_j, H) the forward product's right operand — U^1ᵀ, or
 * [W_ih^j | U^j]ᵀ — and WB[j] (H, K_j) backward's, its transpose; WG[j] (L, H) (NULL for j = 0) and UG[j] (L, L·H)
 * the gates' weights (NULL ungated); BIAS[j] layer j's bias (NULL for j = 0: it is in IN[0]). Scratch, (B, ·) each:
 * X0 (L·H), X (H + L·H), F (H), DX (H + L·H).
 */
#include <stddef.h>

#include "pieces.h"

#define DEFINE(T, SFX)                                                                                                \
void gemm_##SFX(long, long, long, const T *, long, long, const T *, long, T *, long, int);                            \
void fb_gates_##SFX(long, long, long, const T *, long, const T *, const T *, const T *, const T *, T *, T *, long);   \
void fb_act_##SFX(long, long, long, T *, long, long, const T *, const T *, const T *, T *, const T *);              \
void fb_delta_##SFX(long, long, const T *, long, const T *, long, const T *, T *, long);                             \
void fb_gate_back_##SFX(long, long, long, const T *, long, const T *, const T *, const T *, const T *, T *, T *, T *,\
                        long);                                                                                        \
                                                                                                                      \
void fb_tanh_sequence_forward_##SFX(long n_pieces, long n_steps, long B, long L, long H, T *HS, T *const *IN,        \
                                    T *G, const T *M, const T *const *WF, const T *const *WG, const T *const *UG,     \
                                    const T *const *BIAS, T *X0, T *X, T *F) {                                        \
    long LH = L * H, R = G ? H + L : H, KX = H + LH;                                                                  \
    PIECES({                                                                                                          \
        long b0 = B * k / n_pieces, n = B * (k + 1) / n_pieces - b0;                                                  \
        T *x0 = X0 + b0 * LH, *x = X + b0 * KX, *f = F + b0 * H;                                                      \
        for (long t = 0; t < n_steps; t++) {                                                                          \
            T *hs = HS + (t * B + b0) * LH, *out = hs + B * LH;                                                       \
            const T *m = M ? M + t * B + b0 : NULL;                                                                   \
            for (long j = 0; j < L; j++) {                                                                            \
                T *a = IN[j] + (t * B + b0) * R, *g = G ? G + ((t * L + j) * B + b0) * L : NULL;                      \
                if (j == 0) {                                                                                         \
                    if (G)                                                                                            \
                        fb_gates_##SFX(n, L, H, a + H, R, NULL, NULL, UG[0], hs, g, x0, LH);                          \
                    gemm_##SFX(n, H, LH, G ? x0 : hs, LH, 1, WF[0], H, f, H, 0);                                      \
                    fb_act_##SFX(n, H, LH, a, R, 1, f, NULL, hs, out, m);                                             \
                } else {                                                                                              \
                    fb_gates_##SFX(n, L, H, NULL, 0, G ? WG[j] : NULL, out + (j - 1) * H, G ? UG[j] : NULL, hs, g, x, \
                                   KX);                                                                               \
                    gemm_##SFX(n, H, KX, x, KX, 1, WF[j], H, f, H, 0);                                                \
                    fb_act_##SFX(n, H, LH, a, R, 0, f, BIAS[j], hs + j * H, out + j * H, m);                          \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
    });                                                                                                               \
}                                                                                                                     \
                                                                                                                      \
void fb_tanh_sequence_backward_##SFX(long n_pieces, long n_steps, long B, long L, long H, const T *HS, T *dHS,       \
                                     T *const *IN, T *const *DIN, const T *G, const T *M, const T *const *WB,         \
                                     const T *const *WG, const T *const *UG, T *DX) {                                 \
    long LH = L * H, R = G ? H + L : H, KX = H + LH;                                                                  \
    PIECES({                                                                                                          \
        long b0 = B * k / n_pieces, n = B * (k + 1) / n_pieces - b0;                                                  \
        T *dx = DX + b0 * KX;                                                                                         \
        for (long t = n_steps - 1; t >= 0; t--) {                                                                     \
            T *dprev = dHS + (t * B + b0) * LH, *dh = dprev + B * LH;                                                 \
            const T *hs = HS + (t * B + b0) * LH, *m = M ? M + t * B + b0 : NULL;                                     \
            for (long j = L - 1; j >= 0; j--) {                                                                       \
                T *d = DIN[j] + (t * B + b0) * R;                                                                     \
                const T *g = G ? G + ((t * L + j) * B + b0) * L : NULL;                                               \
                /* the candidate h̃: kept in IN under a mask, else the state itself */                                \
                if (M)                                                                                                \
                    fb_delta_##SFX(n, H, dh + j * H, LH, IN[j] + (t * B + b0) * R, R, m, d, R);                       \
                else                                                                                                  \
                    fb_delta_##SFX(n, H, dh + j * H, LH, hs + B * LH + j * H, LH, m, d, R);                           \
                long K = j ? KX : LH;                                                                                 \
                gemm_##SFX(n, K, H, d, R, 1, WB[j], K, dx, K, 0);                                                     \
                fb_gate_back_##SFX(n, L, H, dx, K, hs, g, G ? UG[j] : NULL, j && G ? WG[j] : NULL, dprev,            \
                                   j ? dh + (j - 1) * H : NULL, G ? d + H : NULL, R);                                 \
            }                                                                                                         \
            if (M)                                                                                                    \
                for (long b = 0; b < n; b++)                                                                          \
                    for (long q = 0; q < LH; q++)                                                                     \
                        dprev[b * LH + q] += (1 - m[b]) * dh[b * LH + q];                                             \
        }                                                                                                             \
    });                                                                                                               \
}

DEFINE(float, f32)
DEFINE(double, f64)
