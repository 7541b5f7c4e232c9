/* The Gated-Feedback RNN's tanh layers (rnnkit.recurrence.bptt_feedback: equations there): the elementwise parts of
 * one layer's step, between the GEMMs that torch runs. All layers' states sit side by side in rows of L·H (h*), so a
 * layer's block is a pointer into such a row with row stride LH; other strided arguments name their row stride.
 *
 * forward   fb_gates   g = σ(gx + W_g h^{j-1} + U_g h*_{t-1}) per (example, source layer i) — the two products as dot
 *                      products here (L rows each) — and the GEMM's left operand X = [h^{j-1} | ĝ ⊙ h*_{t-1}] (the
 *                      layer below's state first when BELOW is given: one GEMM then does W_ih h^{j-1} + U (ĝ ⊙ h*))
 *           fb_act     h̃ = tanh(a + f + b); the carried state h = m h̃ + (1 − m) h_{t-1}; with a mask h̃ is kept in a
 * backward  fb_delta   δa = ḣ ⊙ (1 − h̃²) ⊙ m                                                   (before δa [W_ih | U])
 *           fb_gate_back  with [δh^{j-1} | δf̂] = δa [W_ih | U]:  ḣ*_{t-1} += ĝ ⊙ δf̂ + δgx U_g,
 *                      δgx = g(1 − g) ⊙ Σ_block(δf̂ ⊙ h*_{t-1}), and ḣ^{j-1} += δh^{j-1} + δgx W_g when DB is given
 * Ungated layers pass G = NULL (every g = 1, no gate terms).
 */
#include <math.h>
#include <stddef.h>

#include "activations.h"

#define DEFINE_FB(T, SFX, exp_, tanh_)                                                                                \
void fb_gates_##SFX(long B, long L, long H, const T *GX, long gx_stride, const T *WG, const T *BELOW, const T *UG,    \
                    const T *HS, T *G, T *X, long x_stride) {                                                         \
    long LH = L * H, off = BELOW ? H : 0;                                                                             \
    for (long b = 0; b < B; b++) {                                                                                    \
        const T *restrict hs = HS + b * LH, *restrict below = BELOW ? BELOW + b * LH : NULL;                          \
        T *restrict x = X + b * x_stride;                                                                             \
        if (below)                                                                                                    \
            for (long k = 0; k < H; k++) x[k] = below[k];                                                             \
        for (long i = 0; i < L; i++) {                                                                                \
            T g = 1;                                                                                                  \
            if (G) {                                                                                                  \
                T s = GX ? GX[b * gx_stride + i] : 0, s2 = 0;                                                         \
                const T *restrict ug = UG + i * LH;                                                                   \
                for (long k = 0; k < LH; k++) s2 += ug[k] * hs[k];                                                    \
                if (WG) {                                                                                             \
                    const T *restrict wg = WG + i * H;                                                                \
                    for (long k = 0; k < H; k++) s2 += wg[k] * below[k];                                              \
                }                                                                                                     \
                g = SIGMOID(T, exp_, s + s2);                                                                         \
                G[b * L + i] = g;                                                                                     \
            }                                                                                                         \
            const T *restrict h = hs + i * H;                                                                         \
            T *restrict f = x + off + i * H;                                                                          \
            for (long k = 0; k < H; k++) f[k] = g * h[k];                                                             \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void fb_act_##SFX(long B, long H, long LH, T *A, long a_stride, long a_in, const T *F, const T *BIAS, const T *HP,    \
                  T *HO, const T *M) {                                                                                \
    for (long b = 0; b < B; b++) {                                                                                    \
        T *restrict a = A + b * a_stride;                                                                             \
        const T *restrict f = F + b * H, *restrict hp = HP + b * LH;                                                  \
        T *restrict ho = HO + b * LH;                                                                                 \
        for (long k = 0; k < H; k++) {                                                                                \
            T v = tanh_((a_in ? a[k] : 0) + f[k] + (BIAS ? BIAS[k] : 0));                                             \
            if (!M) ho[k] = v;                                                                                        \
            else {                                                                                                    \
                a[k] = v;                                                                                             \
                ho[k] = M[b] != 0 ? v : hp[k];                                                                        \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void fb_delta_##SFX(long B, long H, const T *DH, long dh_stride, const T *HC, long hc_stride, const T *M, T *DA,      \
                    long da_stride) {                                                                                 \
    for (long b = 0; b < B; b++) {                                                                                    \
        const T *restrict dh = DH + b * dh_stride, *restrict hc = HC + b * hc_stride;                                 \
        T *restrict da = DA + b * da_stride;                                                                          \
        T m = M ? M[b] : 1;                                                                                           \
        _Pragma("GCC ivdep") for (long k = 0; k < H; k++) da[k] = m * dh[k] * (1 - hc[k] * hc[k]);                    \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void fb_gate_back_##SFX(long B, long L, long H, const T *DX, long dx_stride, const T *HS, const T *G, const T *UG,    \
                        const T *WG, T *DP, T *DB, T *DGX, long dgx_stride) {                                         \
    long LH = L * H, off = DB ? H : 0;                                                                                \
    for (long b = 0; b < B; b++) {                                                                                    \
        const T *restrict dx = DX + b * dx_stride, *restrict hs = HS + b * LH;                                        \
        const T *restrict df = dx + off;                                                                              \
        T *restrict dp = DP + b * LH, *restrict db = DB ? DB + b * LH : NULL;                                         \
        if (db)                                                                                                       \
            for (long k = 0; k < H; k++) db[k] += dx[k];                                                              \
        if (!G) {                                                                                                     \
            for (long k = 0; k < LH; k++) dp[k] += df[k];                                                             \
            continue;                                                                                                 \
        }                                                                                                             \
        T *restrict dgx = DGX + b * dgx_stride;                                                                       \
        for (long i = 0; i < L; i++) {                                                                                \
            T g = G[b * L + i], s = 0;                                                                                \
            for (long k = i * H; k < (i + 1) * H; k++) {                                                              \
                s += df[k] * hs[k];                                                                                   \
                dp[k] += g * df[k];                                                                                   \
            }                                                                                                         \
            dgx[i] = g * (1 - g) * s;                                                                                 \
        }                                                                                                             \
        for (long l = 0; l < L; l++) {                                                                                \
            const T *restrict u = UG + l * LH;                                                                        \
            T d = dgx[l];                                                                                             \
            _Pragma("GCC ivdep") for (long k = 0; k < LH; k++) dp[k] += d * u[k];                                     \
            if (db) {                                                                                                 \
                const T *restrict w = WG + l * H;                                                                     \
                _Pragma("GCC ivdep") for (long k = 0; k < H; k++) db[k] += d * w[k];                                  \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
}

DEFINE_FB(float, f32, expf, tanhf)
DEFINE_FB(double, f64, exp, tanh)
