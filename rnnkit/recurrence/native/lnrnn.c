/* One time step of the layer-normalised LSTM and GRU, forward and backward, for one batch at a time — the elementwise
 * half of rnnkit.recurrence.bptt_layernorm (the recurrent GEMMs stay in torch). Equations and symbols are in that
 * module's docstring; this file is the same arithmetic as its torch-operation path, fused into one pass per row.
 *
 * Layout (all row-major, contiguous): time-major buffers (T, B, ·) addressed by a step index t; G = 4H (LSTM) or 3H
 * (GRU); a step mask m (T, B) of 0/1 or NULL; per-row statistics (T, B, k). Gradients of the norms' gains and shifts
 * accumulate in double whatever the data type. `GCC ivdep`: the rows never overlap (lets the loops vectorise).
 */
#include <math.h>
#include <stddef.h>

#define SIGMOID(exp_, v) (1 / (1 + exp_(-(v))))

#define DEFINE(T, SFX, exp_, tanh_, sqrt_)                                                                            \
                                                                                                                      \
/* mean and 1/σ of v[0..n) (biased variance, ε inside the root, as torch.nn.functional.layer_norm) */                 \
static void stats_##SFX(const T *restrict v, long n, T eps, T *mu, T *rstd) {                                        \
    T s = 0, q = 0;                                                                                                   \
    _Pragma("GCC ivdep") for (long k = 0; k < n; k++) s += v[k];                                                      \
    T m = s / n;                                                                                                      \
    _Pragma("GCC ivdep") for (long k = 0; k < n; k++) q += (v[k] - m) * (v[k] - m);                                   \
    *mu = m;                                                                                                          \
    *rstd = 1 / sqrt_(q / n + eps);                                                                                   \
}                                                                                                                     \
                                                                                                                      \
/* ∂L/∂v of γ ⊙ (v − μ)/σ (+ β) given δ: σ⁻¹ (γδ − mean(γδ) − v̂ mean(γδ ⊙ v̂)); also Σ δ ⊙ v̂ into dgain. */           \
static void norm_back_##SFX(const T *restrict d, const T *restrict v, long n, T mu, T rstd, const T *restrict gain,   \
                            T *restrict dv, double *restrict dgain) {                                                 \
    T a = 0, b = 0;                                                                                                   \
    _Pragma("GCC ivdep") for (long k = 0; k < n; k++) {                                                               \
        T vh = (v[k] - mu) * rstd, gd = gain[k] * d[k];                                                               \
        a += gd;                                                                                                      \
        b += gd * vh;                                                                                                 \
        dgain[k] += (double)(d[k] * vh);                                                                              \
    }                                                                                                                 \
    a /= n;                                                                                                           \
    b /= n;                                                                                                           \
    _Pragma("GCC ivdep") for (long k = 0; k < n; k++) dv[k] = rstd * (gain[k] * d[k] - a - (v[k] - mu) * rstd * b);   \
}                                                                                                                     \
                                                                                                                      \
/* LSTM forward, step t: P[t] = W_hh h_{t-1} is given; writes the gates ACT[t] (i f g o, squashed), c̃ CC[t], the   \
 * carried C[t] (may be CC), tanh(u) TU[t], the carried Y[t], and (μ, σ⁻¹, μ_c, σ_c⁻¹) into S[t]. */                  \
void lnlstm_forward_##SFX(long t, long B, long H, T eps, const T *XW, const T *P, const T *g_hh, const T *g_c,       \
                          const T *b_c, const T *h0, const T *c0, const T *M, T *ACT, T *CC, T *C, T *TU, T *Y,      \
                          T *S) {                                                                                     \
    long G = 4 * H;                                                                                                   \
    for (long b = 0; b < B; b++) {                                                                                    \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict xw = XW + rg, *restrict p = P + rg;                                                         \
        const T *restrict c_prev = t ? C + rh - B * H : c0 + b * H;                                                   \
        const T *restrict h_prev = t ? Y + rh - B * H : h0 + b * H;                                                   \
        T *restrict a = ACT + rg, *restrict cc = CC + rh, *restrict tu = TU + rh, *restrict y = Y + rh;               \
        T *s = S + (t * B + b) * 4;                                                                                   \
        stats_##SFX(p, G, eps, s, s + 1);                                                                             \
        T mu = s[0], rs = s[1];                                                                                       \
        _Pragma("GCC ivdep") for (long k = 0; k < G; k++) a[k] = xw[k] + g_hh[k] * ((p[k] - mu) * rs);                \
        _Pragma("GCC ivdep") for (long k = 0; k < 2 * H; k++) a[k] = SIGMOID(exp_, a[k]);                             \
        _Pragma("GCC ivdep") for (long k = 2 * H; k < 3 * H; k++) a[k] = tanh_(a[k]);                                 \
        _Pragma("GCC ivdep") for (long k = 3 * H; k < G; k++) a[k] = SIGMOID(exp_, a[k]);                             \
        const T *restrict i = a, *restrict f = a + H, *restrict g = a + 2 * H, *restrict o = a + 3 * H;               \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++) cc[j] = f[j] * c_prev[j] + i[j] * g[j];                     \
        stats_##SFX(cc, H, eps, s + 2, s + 3);                                                                        \
        T mc = s[2], rc = s[3];                                                                                       \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++) tu[j] = tanh_(g_c[j] * ((cc[j] - mc) * rc) + (b_c ? b_c[j] : 0));\
        T m = M ? M[t * B + b] : 1;                                                                                   \
        T *restrict c = C + rh;                                                                                       \
        if (m != 0) {                                                                                                 \
            _Pragma("GCC ivdep") for (long j = 0; j < H; j++) y[j] = o[j] * tu[j];                                    \
            if (c != cc)                                                                                              \
                _Pragma("GCC ivdep") for (long j = 0; j < H; j++) c[j] = cc[j];                                       \
        } else {                                                                                                      \
            _Pragma("GCC ivdep") for (long j = 0; j < H; j++) y[j] = h_prev[j];                                       \
            _Pragma("GCC ivdep") for (long j = 0; j < H; j++) c[j] = c_prev[j];                                       \
        }                                                                                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* LSTM backward, step t. dH (T+1, B, H): dH[t+1] holds ḣ_t (all of it); (1 − m) ḣ_t is added to dH[t] (the caller \
 * then adds δp_t W_hh). dc (B, H): ċ_{t+1} ⊙ f_{t+1} on entry, replaced by what step t−1 receives. Writes δa_t     \
 * into DA[t] (torch's gate order: it is ∂L/∂xw_t) and δp_t into DP[t]; accumulates ∂L/∂γ_hh, ∂L/∂γ_c, ∂L/∂β_c.    \
 * W (B, G) is scratch. */                                                                                            \
void lnlstm_backward_##SFX(long t, long B, long H, const T *P, const T *g_hh, const T *g_c, const T *c0,            \
                           const T *M, const T *ACT, const T *CC, const T *C, const T *TU, const T *S, T *dH, T *dc, \
                           T *DA, T *DP, T *W, double *dg_hh, double *dg_c, double *db_c) {                           \
    long G = 4 * H;                                                                                                   \
    for (long b = 0; b < B; b++) {                                                                                    \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict a = ACT + rg, *restrict cc = CC + rh, *restrict tu = TU + rh;                               \
        const T *restrict i = a, *restrict f = a + H, *restrict g = a + 2 * H, *restrict o = a + 3 * H;               \
        const T *restrict c_prev = t ? C + rh - B * H : c0 + b * H;                                                   \
        const T *s = S + (t * B + b) * 4;                                                                             \
        T m = M ? M[t * B + b] : 1;                                                                                   \
        T *restrict dh = dH + rh + B * H, *restrict dh_prev = dH + rh, *restrict dcb = dc + b * H;                    \
        T *restrict du = W + b * G, *restrict dcc = W + b * G + H;                                                    \
        T *restrict da = DA + rg;                                                                                     \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++) du[j] = m * dh[j] * o[j] * (1 - tu[j] * tu[j]);             \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++) db_c[j] += (double)du[j];                                   \
        norm_back_##SFX(du, cc, H, s[2], s[3], g_c, dcc, dg_c);                                                       \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++) {                                                           \
            T d = dcc[j] + m * dcb[j];                                                                                \
            da[j] = d * g[j] * i[j] * (1 - i[j]);                                                                     \
            da[H + j] = d * c_prev[j] * f[j] * (1 - f[j]);                                                            \
            da[2 * H + j] = d * i[j] * (1 - g[j] * g[j]);                                                             \
            da[3 * H + j] = m * dh[j] * tu[j] * o[j] * (1 - o[j]);                                                    \
            dcb[j] = d * f[j] + (1 - m) * dcb[j];                                                                     \
            dh_prev[j] += (1 - m) * dh[j];                                                                            \
        }                                                                                                             \
        norm_back_##SFX(da, P + rg, G, s[0], s[1], g_hh, DP + rg, dg_hh);                                             \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* GRU forward, step t: P[t] = W_hh h_{t-1} is given; gh = γ_hh ⊙ p̂ + b_hh; writes [r z] RZ[t], gh_n GHN[t], n N[t], \
 * the carried Y[t] and (μ, σ⁻¹) into S[t]. */                                                                        \
void lngru_forward_##SFX(long t, long B, long H, T eps, const T *XW, const T *P, const T *g_hh, const T *b_hh,       \
                         const T *h0, const T *M, T *RZ, T *GHN, T *N, T *Y, T *S) {                                  \
    long G = 3 * H;                                                                                                   \
    for (long b = 0; b < B; b++) {                                                                                    \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict xw = XW + rg, *restrict p = P + rg;                                                         \
        const T *restrict h_prev = t ? Y + rh - B * H : h0 + b * H;                                                   \
        T *restrict rz = RZ + 2 * rh, *restrict ghn = GHN + rh, *restrict n = N + rh, *restrict y = Y + rh;           \
        T *s = S + (t * B + b) * 2;                                                                                   \
        stats_##SFX(p, G, eps, s, s + 1);                                                                             \
        T mu = s[0], rs = s[1];                                                                                       \
        _Pragma("GCC ivdep") for (long k = 0; k < 2 * H; k++)                                                         \
            rz[k] = SIGMOID(exp_, xw[k] + g_hh[k] * ((p[k] - mu) * rs) + (b_hh ? b_hh[k] : 0));                             \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++)                                                             \
            ghn[j] = g_hh[2 * H + j] * ((p[2 * H + j] - mu) * rs) + (b_hh ? b_hh[2 * H + j] : 0);                     \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++) n[j] = tanh_(xw[2 * H + j] + rz[j] * ghn[j]);               \
        T m = M ? M[t * B + b] : 1;                                                                                   \
        const T *restrict z = rz + H;                                                                                 \
        if (m != 0)                                                                                                   \
            _Pragma("GCC ivdep") for (long j = 0; j < H; j++) y[j] = n[j] + z[j] * (h_prev[j] - n[j]);                \
        else                                                                                                          \
            _Pragma("GCC ivdep") for (long j = 0; j < H; j++) y[j] = h_prev[j];                                       \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
/* GRU backward, step t (dH as for the LSTM): writes ∂L/∂xw_t = [δa_r δa_z δa_n] into DX[t], δp_t into DP[t];      \
 * accumulates ∂L/∂γ_hh and ∂L/∂b_hh (= Σ δgh); adds (m z + 1 − m) ḣ_t to dH[t]. W (B, G) is scratch (δgh). */       \
void lngru_backward_##SFX(long t, long B, long H, const T *P, const T *g_hh, const T *h0, const T *M, const T *RZ,  \
                          const T *GHN, const T *N, const T *Y, const T *S, T *dH, T *DX, T *DP, T *W,                \
                          double *dg_hh, double *db_hh) {                                                             \
    long G = 3 * H;                                                                                                   \
    for (long b = 0; b < B; b++) {                                                                                    \
        long rg = (t * B + b) * G, rh = (t * B + b) * H;                                                              \
        const T *restrict r = RZ + 2 * rh, *restrict z = RZ + 2 * rh + H, *restrict ghn = GHN + rh;                   \
        const T *restrict n = N + rh, *restrict h_prev = t ? Y + rh - B * H : h0 + b * H;                             \
        const T *s = S + (t * B + b) * 2;                                                                             \
        T m = M ? M[t * B + b] : 1;                                                                                   \
        T *restrict dh = dH + rh + B * H, *restrict dh_prev = dH + rh;                                                \
        T *restrict dx = DX + rg, *restrict dgh = W + b * G;                                                          \
        _Pragma("GCC ivdep") for (long j = 0; j < H; j++) {                                                           \
            T hc = m * dh[j];                                                                                         \
            T dan = hc * (1 - z[j]) * (1 - n[j] * n[j]);                                                              \
            T dar = dan * ghn[j] * r[j] * (1 - r[j]);                                                                 \
            T daz = hc * (h_prev[j] - n[j]) * z[j] * (1 - z[j]);                                                      \
            dx[j] = dgh[j] = dar;                                                                                     \
            dx[H + j] = dgh[H + j] = daz;                                                                             \
            dx[2 * H + j] = dan;                                                                                      \
            dgh[2 * H + j] = dan * r[j];                                                                              \
            dh_prev[j] += (m * z[j] + 1 - m) * dh[j];                                                                 \
        }                                                                                                             \
        _Pragma("GCC ivdep") for (long k = 0; k < G; k++) db_hh[k] += (double)dgh[k];                                 \
        norm_back_##SFX(dgh, P + rg, G, s[0], s[1], g_hh, DP + rg, dg_hh);                                            \
    }                                                                                                                 \
}

DEFINE(float, f32, expf, tanhf, sqrtf)
DEFINE(double, f64, exp, tanh, sqrt)
