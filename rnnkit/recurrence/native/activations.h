/* SIGMOID(T, exp_, v): the logistic function 1 / (1 + e^{-v}) in type T, with the exponent's argument clamped to where
 * exp_ stays finite (±88 for float, ±708 for double; beyond that the result is 0 or 1 in T anyway).
 * SOFTPLUS(T, exp_, log1p_, v): log(1 + e^v) = max(v, 0) + log1p(e^{-|v|}), finite for every finite v.
 *
 * Why the clamp: the library builds with -ffast-math, which lets the compiler assume there are no infinities. A gate
 * pre-activation below -88 made expf overflow, and in vectorised loops 1 / (1 + inf) came out NaN, not 0 (the
 * reciprocal is an estimate refined by a Newton step, which computes 0 · inf): a float32 GRU fed unscaled inputs
 * returned NaN where torch.nn.GRU returns numbers. */
#ifndef RNNKIT_ACTIVATIONS_H
#define RNNKIT_ACTIVATIONS_H
#define EXP_ARG_MAX(T) ((T)(sizeof(T) == sizeof(float) ? 88 : 708))
#define CLAMP_EXP_ARG(T, v) ((v) < -EXP_ARG_MAX(T) ? -EXP_ARG_MAX(T) : (v) > EXP_ARG_MAX(T) ? EXP_ARG_MAX(T) : (v))
#define SIGMOID(T, exp_, v) ((T)1 / (1 + exp_(-CLAMP_EXP_ARG(T, (v)))))
#define SOFTPLUS(T, exp_, log1p_, v) (((v) > 0 ? (v) : (T)0) + log1p_(exp_((v) > 0 ? -(v) : (v))))
#endif
