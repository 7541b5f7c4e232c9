/* The layer-normalised LSTM and GRU over a whole sequence in one call each way: the steps of lnrnn.c with the
 * recurrent products in between (gemm.c), so no step returns to Python. The rows of a batch are independent
 * recurrences, so the batch is cut into n_pieces ranges of rows run at once, one per OpenMP thread — torch's own
 * threads: the library links the libgomp that torch has loaded — with one hand-off per sequence instead of one per
 * step and no lock anywhere (each range writes only its own rows and its own buffers).
 *
 * With W_hh (G, H) and a range of n rows [b0, b1):
 *   forward   p_t = h_{t-1} W_hhᵀ                  (W_hhᵀ, (H, G), is passed transposed once per sequence)
 *   backward  ḣ_{t-1} += δp_t W_hh
 *             ∂L/∂W_hh += Σ_t δp_tᵀ h_{t-1}         every `chunk` steps, from the range's own DP and HB
 * Backward keeps the range's δp_t and h_{t-1} for `chunk` steps in its slices of DP (n_pieces, chunk, rmax, G) and
 * HB (…, H) (rmax = ⌈B / n_pieces⌉) and adds their product into its slice of dW (n_pieces, G, H); the gains'
 * gradients go to its slice of acc (n_pieces, 6H: γ_hh's 4H or 3H, then γ_c's and β_c's or b_hh's). The caller sums
 * the slices. DH and DN (B, H) swap roles every step: after T steps ∂L/∂h_0 is in DH when T is even, else in DN.
 */
#include <stddef.h>
#include <string.h>

#include "pieces.h"

#ifdef _OPENMP
int native_openmp(void) { return 1; }
#else
int native_openmp(void) { return 0; }
#endif

#define DECLARE(T, SFX)                                                                                               \
void gemm_##SFX(long, long, long, const T *, long, long, const T *, long, T *, long, int);                            \
void lnlstm_forward_##SFX(long, long, long, long, long, T, const T *, T *, const T *, const T *, const T *,           \
                          const T *, const T *, const T *, T *, T *, T *, T *, T *);                                  \
void lnlstm_backward_##SFX(long, long, long, long, long, const T *, const T *, const T *, const T *, const T *,       \
                           const T *, const T *, const T *, const T *, const T *, const T *, const T *, T *, T *,     \
                           T *, T *, T *, double *, double *, double *);                                              \
void lngru_forward_##SFX(long, long, long, long, long, T, const T *, T *, const T *, const T *, const T *, const T *, \
                         T *, T *, T *);                                                                              \
void lngru_backward_##SFX(long, long, long, long, long, const T *, const T *, const T *, const T *, const T *,        \
                          const T *, const T *, const T *, const T *, T *, T *, T *, T *, const T *, double *,        \
                          double *);

#define DEFINE(T, SFX)                                                                                                \
DECLARE(T, SFX)                                                                                                       \
                                                                                                                      \
/* h_{t-1} for rows [b0, b1): h_0's or the previous step's output */                                                  \
static const T *h_prev_##SFX(long t, long B, long b0, long H, const T *h0, const T *Y) {                             \
    return t ? Y + ((t - 1) * B + b0) * H : h0 + b0 * H;                                                              \
}                                                                                                                     \
                                                                                                                      \
/* p_t = h_{t-1} W_hhᵀ for rows [b0, b1), into PS's rows */                                                           \
static void forward_product_##SFX(long t, long B, long b0, long b1, long H, long G, const T *W_hhT, const T *h0,     \
                                  const T *Y, T *PS) {                                                                \
    gemm_##SFX(b1 - b0, G, H, h_prev_##SFX(t, B, b0, H, h0, Y), H, 1, W_hhT, G, PS + b0 * G, G, 0);                   \
}                                                                                                                     \
                                                                                                                      \
/* after backward step t: ḣ_{t-1} += δp_t W_hh; δp_t (in DP's slot t % chunk) and h_{t-1} kept, and added into dW at \
 * a chunk's first step (slots 0 … k−1 then hold steps t … t + k − 1) */                                             \
static void backward_products_##SFX(long t, long n_steps, long B, long b0, long b1, long H, long G, long chunk,      \
                                    const T *W_hh, const T *h0, const T *Y, T *DN, const T *DP, T *HB, T *dW) {       \
    long n = b1 - b0, r = t % chunk;                                                                                  \
    gemm_##SFX(n, H, G, DP + r * n * G, G, 1, W_hh, H, DN + b0 * H, H, 1);                                            \
    if (!dW)                                                                                                          \
        return;                                                                                                       \
    memcpy(HB + r * n * H, h_prev_##SFX(t, B, b0, H, h0, Y), sizeof(T) * n * H);                                      \
    if (r == 0) {                                                                                                     \
        long k = n_steps - t < chunk ? n_steps - t : chunk;                                                           \
        gemm_##SFX(G, H, k * n, DP, 1, G, HB, H, dW, H, 1);                                                           \
    }                                                                                                                 \
}                                                                                                                     \
                                                                                                                      \
void lnlstm_sequence_forward_##SFX(long n_pieces, long n_steps, long B, long H, T eps, const T *W_hhT, const T *XW,  \
                                   T *PS, const T *g_hh, const T *g_c, const T *b_c, const T *h0, const T *c0,        \
                                   const T *M, T *PH, T *CC, T *C, T *Y, T *S) {                                      \
    PIECES({                                                                                                          \
        long b0 = B * k / n_pieces, b1 = B * (k + 1) / n_pieces;                                                      \
        for (long t = 0; t < n_steps; t++) {                                                                          \
            forward_product_##SFX(t, B, b0, b1, H, 4 * H, W_hhT, h0, Y, PS);                                          \
            lnlstm_forward_##SFX(t, B, b0, b1, H, eps, XW, PS, g_hh, g_c, b_c, h0, c0, M, PH, CC, C, Y, S);           \
        }                                                                                                             \
    });                                                                                                               \
}                                                                                                                     \
                                                                                                                      \
void lnlstm_sequence_backward_##SFX(long n_pieces, long n_steps, long B, long H, long chunk, const T *W_hh,           \
                                    const T *h0, const T *Y, const T *XW, const T *PH, const T *g_hh, const T *g_c,   \
                                    const T *b_c, const T *c0, const T *M, const T *CC, const T *C, const T *S,       \
                                    T *DH0, const T *DY, T *DN0, T *dc, T *DA, T *DP, T *HB, T *dW, T *work,          \
                                    double *acc) {                                                                    \
    long G = 4 * H, rmax = (B + n_pieces - 1) / n_pieces;                                                             \
    PIECES({                                                                                                          \
        long b0 = B * k / n_pieces, b1 = B * (k + 1) / n_pieces;                                                      \
        T *DH = DH0, *DN = DN0, *dp = DP + k * chunk * rmax * G, *hb = HB ? HB + k * chunk * rmax * H : NULL;         \
        T *dw = dW ? dW + k * G * H : NULL;                                                                           \
        double *a = acc + k * 6 * H;                                                                                  \
        for (long t = n_steps - 1; t >= 0; t--) {                                                                     \
            lnlstm_backward_##SFX(t, B, b0, b1, H, XW, PH, g_hh, g_c, b_c, c0, M, CC, C, S, DH,                       \
                                  DY && t ? DY + (t - 1) * B * H : NULL, DN, dc, DA, dp + (t % chunk) * (b1 - b0) * G, \
                                  work, a, a + 4 * H, a + 5 * H);                                                     \
            backward_products_##SFX(t, n_steps, B, b0, b1, H, G, chunk, W_hh, h0, Y, DN, dp, hb, dw);                 \
            T *swap = DH;                                                                                             \
            DH = DN;                                                                                                  \
            DN = swap;                                                                                                \
        }                                                                                                             \
    });                                                                                                               \
}                                                                                                                     \
                                                                                                                      \
void lngru_sequence_forward_##SFX(long n_pieces, long n_steps, long B, long H, T eps, const T *W_hhT, const T *XW,   \
                                  T *PS, const T *g_hh, const T *b_hh, const T *h0, const T *M, T *PH, T *Y, T *S) {  \
    PIECES({                                                                                                          \
        long b0 = B * k / n_pieces, b1 = B * (k + 1) / n_pieces;                                                      \
        for (long t = 0; t < n_steps; t++) {                                                                          \
            forward_product_##SFX(t, B, b0, b1, H, 3 * H, W_hhT, h0, Y, PS);                                          \
            lngru_forward_##SFX(t, B, b0, b1, H, eps, XW, PS, g_hh, b_hh, h0, M, PH, Y, S);                           \
        }                                                                                                             \
    });                                                                                                               \
}                                                                                                                     \
                                                                                                                      \
void lngru_sequence_backward_##SFX(long n_pieces, long n_steps, long B, long H, long chunk, const T *W_hh,            \
                                   const T *h0, const T *Y, const T *XW, const T *PH, const T *g_hh, const T *b_hh,   \
                                   const T *M, const T *S, T *DH0, const T *DY, T *DN0, T *DX, T *DP, T *HB, T *dW,   \
                                   T *work, double *acc) {                                                            \
    long G = 3 * H, rmax = (B + n_pieces - 1) / n_pieces;                                                             \
    PIECES({                                                                                                          \
        long b0 = B * k / n_pieces, b1 = B * (k + 1) / n_pieces;                                                      \
        T *DH = DH0, *DN = DN0, *dp = DP + k * chunk * rmax * G, *hb = HB ? HB + k * chunk * rmax * H : NULL;         \
        T *dw = dW ? dW + k * G * H : NULL;                                                                           \
        double *a = acc + k * 6 * H;                                                                                  \
        for (long t = n_steps - 1; t >= 0; t--) {                                                                     \
            lngru_backward_##SFX(t, B, b0, b1, H, XW, PH, g_hh, b_hh, h0, M, Y, DH,                                   \
                                 DY && t ? DY + (t - 1) * B * H : NULL, DN, DX, dp + (t % chunk) * (b1 - b0) * G,     \
                                 work, S, a, a + 3 * H);                                                              \
            backward_products_##SFX(t, n_steps, B, b0, b1, H, G, chunk, W_hh, h0, Y, DN, dp, hb, dw);                 \
            T *swap = DH;                                                                                             \
            DH = DN;                                                                                                  \
            DN = swap;                                                                                                \
        }                                                                                                             \
    });                                                                                                               \
}

DEFINE(float, f32)
DEFINE(double, f64)
