/* The Gated-Feedback RNN's tanh layers (rnnkit.recurrence.bptt_feedback: equations there): the elementwise parts of
 * one layer's step, between the GEMMs that torch runs. All layers' states sit side by side in rows of L·H (h*), so a
 * layer's block is a pointer into such a row with row stride LH; other strided arguments name their row stride.
 *
 * forward   fb_gates   g = σ(gx + s) per (example, source layer i), FB = ĝ ⊙ h*_{t-1}          (before FB U^T)
 *           fb_act     h̃ = tanh(a + f); the carried state h = m h̃ + (1 − m) h_{t-1}; with a mask h̃ is kept in a
 * backward  fb_delta   δa = ḣ ⊙ (1 − h̃²) ⊙ m                                                   (before δa U)
 *           fb_gate_back  with δf̂ = δa U:  ḣ*_{t-1} += ĝ ⊙ δf̂ + δgx U_g,  δgx = g(1 − g) ⊙ Σ_block(δf̂ ⊙ h*_{t-1})
 */
#include <math.h>
#include <stddef.h>

#define DEFINE_FB(T, SFX, exp_, tanh_)                                                                                \
void fb_gates_##SFX(long B, long L, long H, const T *GX, long gx_stride, const T *S, long s_off, const T *HS,       \
                    T *G, T *FB) {                                                                                    \
    long LH = L * H;                                                                                                  \
    for (long b = 0; b < B; b++)                                                                                      \
        for (long i = 0; i < L; i++) {                                                                                \
            T g = 1 / (1 + exp_(-(GX[b * gx_stride + i] + S[b * L * L + s_off + i])));                                \
            G[b * L + i] = g;                                                                                         \
            const T *restrict h = HS + b * LH + i * H;                                                                \
            T *restrict f = FB + b * LH + i * H;                                                                      \
            for (long k = 0; k < H; k++) f[k] = g * h[k];                                                             \
        }                                                                                                             \
}                                                                                                                     \
                                                                                                                      \
void fb_act_##SFX(long B, long H, long LH, T *A, long a_stride, const T *F, const T *HP, T *HO, const T *M) {       \
    for (long b = 0; b < B; b++) {                                                                                    \
        T *restrict a = A + b * a_stride;                                                                             \
        const T *restrict f = F + b * H, *restrict hp = HP + b * LH;                                                  \
        T *restrict ho = HO + b * LH;                                                                                 \
        if (!M)                                                                                                       \
            for (long k = 0; k < H; k++) ho[k] = tanh_(a[k] + f[k]);                                                  \
        else if (M[b] != 0)                                                                                           \
            for (long k = 0; k < H; k++) ho[k] = a[k] = tanh_(a[k] + f[k]);                                           \
        else                                                                                                          \
            for (long k = 0; k < H; k++) {                                                                            \
                a[k] = tanh_(a[k] + f[k]);                                                                            \
                ho[k] = hp[k];                                                                                        \
            }                                                                                                         \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void fb_delta_##SFX(long B, long H, const T *DH, long dh_stride, const T *HC, long hc_stride, const T *M, T *DA,    \
                    long da_stride) {                                                                                 \
    for (long b = 0; b < B; b++) {                                                                                    \
        const T *restrict dh = DH + b * dh_stride, *restrict hc = HC + b * hc_stride;                                 \
        T *restrict da = DA + b * da_stride;                                                                          \
        T m = M ? M[b] : 1;                                                                                           \
        _Pragma("GCC ivdep") for (long k = 0; k < H; k++) da[k] = m * dh[k] * (1 - hc[k] * hc[k]);                    \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void fb_gate_back_##SFX(long B, long L, long H, const T *DF, const T *HS, const T *G, const T *UG, T *DP, T *DGX,    \
                        long dgx_stride) {                                                                            \
    long LH = L * H;                                                                                                  \
    for (long b = 0; b < B; b++) {                                                                                    \
        const T *restrict df = DF + b * LH, *restrict hs = HS + b * LH;                                               \
        T *restrict dp = DP + b * LH, *restrict dgx = DGX + b * dgx_stride;                                           \
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
        }                                                                                                             \
    }                                                                                                                 \
}

DEFINE_FB(float, f32, expf, tanhf)
DEFINE_FB(double, f64, exp, tanh)
