/* One time step of the layer-normalised LSTM and GRU, forward and backward, for the batch rows b0 ≤ b < b1 — the
 * elementwise half of rnnkit.recurrence.bptt_layernorm (the recurrent products come from torch between the calls, or
 * from lnseq.c, whose whole-sequence loops call these steps). Equations and symbols are in that module's docstring;
 * this file is the same arithmetic as its torch-operation path, fused into one pass per row.
 *
 * Memory is most of the cost at these sizes (every fresh page is a fault), so forward keeps only what cannot be
 * recomputed cheaply: the normalised recurrent product p̂_t (T, B, G), c̃_t and the carried states, and per-row
 * statistics. Backward recomputes the gates from xw_t + γ ⊙ p̂_t. The step's recurrent product p_t arrives in a (B, G)
 * scratch row buffer that the step overwrites; δp_t leaves in DP, whose first row is row b0. G = 4H (LSTM) or 3H
 * (GRU); a step mask m (T, B) of 0/1 or NULL; gradients of the norms' gains and shifts accumulate in double whatever
 * the data type. `GCC ivdep`: the rows never overlap (lets the loops vectorise).
 */
#include <math.h>
#include <stddef.h>

#include "activations.h"

#define IVDEP _Pragma("GCC ivdep")

#define DEFINE(T, SFX, exp_, tanh_, sqrt_)                                                                            \
                                                                                                                      \
/* mean and 1/σ of v[0..n) (biased variance, ε inside the root, as torch.nn.functional.layer_norm) */                 \
static void stats_##SFX(const T *restrict v, long n, T eps, T *mu, T *rstd) {                                         \
    T s = 0, q = 0;                                                                                                   \
    IVDEP for (long k = 0; k < n; k++) s += v[k];                                                                     \
    T m = s / n;                                                                                                      \
    IVDEP for (long k = 0; k < n; k++) q += (v[k] - m) * (v[k] - m);                                                  \
    *mu = m;                                                                                                          \
    *rstd = 1 / sqrt_(q / n + eps);                                                                                   \
}                                                                                                                     \
                                                                                                                      \
/* ∂L/∂v of γ ⊙ v̂ (+ β), v̂ = (v − μ)/σ, given δ and v̂: σ⁻¹ (γδ − mean(γδ) − v̂ mean(γδ ⊙ v̂)); Σ δ ⊙ v̂ into dgain. */ \
static void norm_back_##SFX(const T *restrict d, const T *restrict vh, long n, T rstd, const T *restrict gain,        \
                            T *restrict dv, double *restrict dgain) {                                                 \
    T a = 0, b = 0;                                                                                                   \
    IVDEP for (long k = 0; k < n; k++) {                                                                              \
        T gd = gain[k] * d[k];                                                                                        \
        a += gd;                                                                                                      \
        b += gd * vh[k];                                                                                              \
        dgain[k] += (double)(d[k] * vh[k]);                                                                           \
    }                                                                                                                 \
    a /= n;                                                                                                           \
    b /= n;                                                                                                           \
    IVDEP for (long k = 0; k < n; k++) dv[k] = rstd * (gain[k] * d[k] - a - vh[k] * b);                               \
}                                                                                                                     \
                                                                                                                      \
/* the LSTM's squashed gates [i f g o] from a = xw + γ_hh ⊙ p̂, in place in a */                                      \
static void lstm_gates_##SFX(T *restrict a, long H) {                                                                 \
    IVDEP for (long k = 0; k < 2 * H; k++) a[k] = SIGMOID(T, exp_, a[k]);                                             \
    IVDEP for (long k = 2 * H; k < 3 * H; k++) a[k] = tanh_(a[k]);                                                    \
    IVDEP for (long k = 3 * H; k < 4 * H; k++) a[k] = SIGMOID(T, exp_, a[k]);                                         \
}                                                                                                                     \
                                                                                                                      \
/* LSTM forward, step t. PS (B, G): W_hh h_{t-1} on entry (scratch). Writes p̂ PH[t], c̃ CC[t], the carried C[t] (may \
 * be CC) and Y[t], and (μ, σ⁻¹, μ_c, σ_c⁻¹) into S[t]. */                                                            \
void lnlstm_forward_##SFX(long t, long B, long b0, long b1, long H, T eps, const T *XW, T *PS, const T *g_hh,         \
                          const T *g_c, const T *b_c, const T *h0, const T *c0, const T *M, T *PH, T *CC, T *C,       \
                          T *Y, T *S) {                                                                               \
    long G = 4 * H;                                                                                                   \
    for (long b = b0; b < b1; b++) {                                                                                  \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict xw = XW + rg;                                                                               \
        const T *restrict c_prev = t ? C + rh - B * H : c0 + b * H;                                                   \
        const T *restrict h_prev = t ? Y + rh - B * H : h0 + b * H;                                                   \
        T *restrict a = PS + b * G, *restrict ph = PH + rg, *restrict cc = CC + rh, *restrict y = Y + rh;             \
        T *s = S + (t * B + b) * 4;                                                                                   \
        stats_##SFX(a, G, eps, s, s + 1);                                                                             \
        T mu = s[0], rs = s[1];                                                                                       \
        IVDEP for (long k = 0; k < G; k++) {                                                                          \
            ph[k] = (a[k] - mu) * rs;                                                                                 \
            a[k] = xw[k] + g_hh[k] * ph[k];                                                                           \
        }                                                                                                             \
        lstm_gates_##SFX(a, H);                                                                                       \
        const T *restrict i = a, *restrict f = a + H, *restrict g = a + 2 * H, *restrict o = a + 3 * H;               \
        IVDEP for (long j = 0; j < H; j++) cc[j] = f[j] * c_prev[j] + i[j] * g[j];                                    \
        stats_##SFX(cc, H, eps, s + 2, s + 3);                                                                        \
        T mc = s[2], rc = s[3], m = M ? M[t * B + b] : 1;                                                             \
        T *restrict c = C + rh;                                                                                       \
        if (m != 0) {                                                                                                 \
            IVDEP for (long j = 0; j < H; j++)                                                                        \
                y[j] = o[j] * tanh_(g_c[j] * ((cc[j] - mc) * rc) + (b_c ? b_c[j] : 0));                               \
            if (c != cc)                                                                                              \
                IVDEP for (long j = 0; j < H; j++) c[j] = cc[j];                                                      \
        } else {                                                                                                      \
            IVDEP for (long j = 0; j < H; j++) y[j] = h_prev[j];                                                      \
            IVDEP for (long j = 0; j < H; j++) c[j] = c_prev[j];                                                      \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* LSTM backward, step t. DH (B, H): ḣ_t, all of it. DN (B, H) ← ∂L/∂y_{t-1} (DY, or 0 if NULL) + (1 − m) ḣ_t (the    \
 * caller then adds δp_t W_hh: ḣ_{t-1}). dc (B, H): ċ_{t+1} ⊙ f_{t+1} on entry, what step t−1 receives on exit.       \
 * Writes δa_t (torch's gate order: it is ∂L/∂xw_t) into DA[t], δp_t into DP (B, G); accumulates ∂L/∂γ_hh, ∂L/∂γ_c,   \
 * ∂L/∂β_c. W (B, G + 3H) is scratch. */                                                                              \
void lnlstm_backward_##SFX(long t, long B, long b0, long b1, long H, const T *XW, const T *PH, const T *g_hh,         \
                           const T *g_c, const T *b_c, const T *c0, const T *M, const T *CC, const T *C, const T *S,  \
                           const T *DH, const T *DY, T *DN, T *dc, T *DA, T *DP, T *W, double *dg_hh, double *dg_c,   \
                           double *db_c) {                                                                            \
    long G = 4 * H;                                                                                                   \
    for (long b = b0; b < b1; b++) {                                                                                  \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict xw = XW + rg, *restrict ph = PH + rg, *restrict cc = CC + rh;                               \
        const T *restrict c_prev = t ? C + rh - B * H : c0 + b * H;                                                   \
        const T *restrict dh = DH + b * H, *restrict dy = DY ? DY + b * H : NULL;                                     \
        const T *s = S + (t * B + b) * 4;                                                                             \
        T m = M ? M[t * B + b] : 1, mc = s[2], rc = s[3];                                                             \
        T *restrict a = W + b * (G + 3 * H), *restrict ch = a + G, *restrict du = ch + H;                             \
        T *restrict dcc = du + H;                                                                                     \
        T *restrict dn = DN + b * H, *restrict dcb = dc + b * H, *restrict da = DA + rg;                              \
        IVDEP for (long k = 0; k < G; k++) a[k] = xw[k] + g_hh[k] * ph[k];                                            \
        lstm_gates_##SFX(a, H);                                                                                       \
        const T *restrict i = a, *restrict f = a + H, *restrict g = a + 2 * H, *restrict o = a + 3 * H;               \
        IVDEP for (long j = 0; j < H; j++) {                                                                          \
            ch[j] = (cc[j] - mc) * rc;                                                                                \
            T tu = tanh_(g_c[j] * ch[j] + (b_c ? b_c[j] : 0));                                                        \
            du[j] = m * dh[j] * o[j] * (1 - tu * tu);                                                                 \
            da[3 * H + j] = m * dh[j] * tu * o[j] * (1 - o[j]);                                                       \
            db_c[j] += (double)du[j];                                                                                 \
            dn[j] = (dy ? dy[j] : 0) + (1 - m) * dh[j];                                                               \
        }                                                                                                             \
        norm_back_##SFX(du, ch, H, rc, g_c, dcc, dg_c);                                                               \
        IVDEP for (long j = 0; j < H; j++) {                                                                          \
            T d = dcc[j] + m * dcb[j];                                                                                \
            da[j] = d * g[j] * i[j] * (1 - i[j]);                                                                     \
            da[H + j] = d * c_prev[j] * f[j] * (1 - f[j]);                                                            \
            da[2 * H + j] = d * i[j] * (1 - g[j] * g[j]);                                                             \
            dcb[j] = d * f[j] + (1 - m) * dcb[j];                                                                     \
        }                                                                                                             \
        norm_back_##SFX(da, ph, G, s[1], g_hh, DP + (b - b0) * G, dg_hh);                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* GRU forward, step t. PS (B, G): W_hh h_{t-1} on entry (scratch). gh = γ_hh ⊙ p̂ + b_hh; writes p̂ PH[t], the       \
 * carried Y[t] and (μ, σ⁻¹) into S[t]. */                                                                            \
void lngru_forward_##SFX(long t, long B, long b0, long b1, long H, T eps, const T *XW, T *PS, const T *g_hh,          \
                         const T *b_hh, const T *h0, const T *M, T *PH, T *Y, T *S) {                                 \
    long G = 3 * H;                                                                                                   \
    for (long b = b0; b < b1; b++) {                                                                                  \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict xw = XW + rg, *restrict h_prev = t ? Y + rh - B * H : h0 + b * H;                           \
        T *restrict p = PS + b * G, *restrict ph = PH + rg, *restrict y = Y + rh;                                     \
        T *s = S + (t * B + b) * 2;                                                                                   \
        stats_##SFX(p, G, eps, s, s + 1);                                                                             \
        T mu = s[0], rs = s[1], m = M ? M[t * B + b] : 1;                                                             \
        IVDEP for (long k = 0; k < G; k++) {                                                                          \
            ph[k] = (p[k] - mu) * rs;                                                                                 \
            p[k] = g_hh[k] * ph[k] + (b_hh ? b_hh[k] : 0);                                                            \
        }                                                                                                             \
        if (m == 0) {                                                                                                 \
            IVDEP for (long j = 0; j < H; j++) y[j] = h_prev[j];                                                      \
            continue;                                                                                                 \
        }                                                                                                             \
        IVDEP for (long j = 0; j < H; j++) {                                                                          \
            T r = SIGMOID(T, exp_, xw[j] + p[j]);                                                                     \
            T z = SIGMOID(T, exp_, xw[H + j] + p[H + j]);                                                             \
            T n = tanh_(xw[2 * H + j] + r * p[2 * H + j]);                                                            \
            y[j] = n + z * (h_prev[j] - n);                                                                           \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* GRU backward, step t (DH, DY, DN as for the LSTM; DN gets (m z + 1 − m) ḣ_t): writes ∂L/∂xw_t = [δa_r δa_z δa_n]   \
 * into DX[t], δp_t into DP (B, G); accumulates ∂L/∂γ_hh and ∂L/∂b_hh (= Σ δgh). W (B, G) is scratch (δgh). */        \
void lngru_backward_##SFX(long t, long B, long b0, long b1, long H, const T *XW, const T *PH, const T *g_hh,          \
                          const T *b_hh, const T *h0, const T *M, const T *Y, const T *DH, const T *DY, T *DN,        \
                          T *DX, T *DP, T *W, const T *S, double *dg_hh, double *db_hh) {                             \
    long G = 3 * H;                                                                                                   \
    for (long b = b0; b < b1; b++) {                                                                                  \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict xw = XW + rg, *restrict ph = PH + rg, *restrict h_prev = t ? Y + rh - B * H : h0 + b * H;   \
        const T *restrict dh = DH + b * H, *restrict dy = DY ? DY + b * H : NULL;                                     \
        T m = M ? M[t * B + b] : 1;                                                                                   \
        T *restrict dx = DX + rg, *restrict dgh = W + b * G, *restrict dn = DN + b * H;                               \
        IVDEP for (long j = 0; j < H; j++) {                                                                          \
            T bn = b_hh ? b_hh[2 * H + j] : 0;                                                                        \
            T ghr = g_hh[j] * ph[j] + (b_hh ? b_hh[j] : 0);                                                           \
            T ghz = g_hh[H + j] * ph[H + j] + (b_hh ? b_hh[H + j] : 0);                                               \
            T ghn = g_hh[2 * H + j] * ph[2 * H + j] + bn;                                                             \
            T r = SIGMOID(T, exp_, xw[j] + ghr);                                                                      \
            T z = SIGMOID(T, exp_, xw[H + j] + ghz);                                                                  \
            T n = tanh_(xw[2 * H + j] + r * ghn);                                                                     \
            T hc = m * dh[j];                                                                                         \
            T dan = hc * (1 - z) * (1 - n * n);                                                                       \
            T dar = dan * ghn * r * (1 - r);                                                                          \
            T daz = hc * (h_prev[j] - n) * z * (1 - z);                                                               \
            dx[j] = dgh[j] = dar;                                                                                     \
            dx[H + j] = dgh[H + j] = daz;                                                                             \
            dx[2 * H + j] = dan;                                                                                      \
            dgh[2 * H + j] = dan * r;                                                                                 \
            dn[j] = (dy ? dy[j] : 0) + (m * z + 1 - m) * dh[j];                                                       \
        }                                                                                                             \
        IVDEP for (long k = 0; k < G; k++) db_hh[k] += (double)dgh[k];                                                \
        norm_back_##SFX(dgh, ph, G, S[(t * B + b) * 2 + 1], g_hh, DP + (b - b0) * G, dg_hh);                          \
    }                                                                                                                 \
}

DEFINE(float, f32, expf, tanhf, sqrtf)
DEFINE(double, f64, exp, tanh, sqrt)
