"""One step of the Gated-Feedback RNN and its backward, by hand (equations: ``rnnkit.cells.feedback``).

Per layer j (below_j = x_t for j = 1, h^{j-1}_t above), with h* = [h^1_{t-1}; …; h^L_{t-1}]:
    s = W_g below_j + U_g h*,   g = σ(s) ∈ R^L,   q = ĝ ⊙ h*   (ĝ repeats g_i over block i),   f_fb = U q
Backward of that part, given δf_fb:
    ∂L/∂U += δf_fb^T q,   δq = δf_fb U,   δh* += δq ⊙ ĝ,   δg_i = Σ_{k in block i} (δq ⊙ h*)_k,   δs = δg ⊙ g(1-g)
    ∂L/∂W_g += δs^T below_j,  ∂L/∂U_g += δs^T h*,  δbelow_j += δs W_g,  δh* += δs U_g
The layers are differentiated top-down, because layer j's input is layer j-1's new state.
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array, add_grad, sigmoid


def _layer(p: dict[str, Array], j: int, name: str):
    return p.get(f"{name}_l{j}")


def forward(p: dict[str, Array], x_t: Array, state: tuple[Array, ...], cell: str, num_layers: int, gated: bool):
    L = num_layers
    h_prev, c_prev = state[:L], state[L:]
    h_star = np.concatenate(h_prev, axis=-1)
    B, H = h_star.shape[0], h_prev[0].shape[-1]
    below = x_t
    new_h, new_c, caches = [], [], []
    for j in range(L):
        W = lambda n: _layer(p, j, n)  # noqa: E731
        b_ih, b_hh = W("bias_ih"), W("bias_hh")
        xw = below @ W("weight_ih").T + (b_ih if b_ih is not None else 0.0)
        if gated:
            g = sigmoid(below @ W("weight_gx").T + h_star @ W("weight_gh").T)  # (B, L)
            q = (g[:, :, None] * h_star.reshape(B, L, H)).reshape(B, L * H)
        else:
            g, q = None, h_star
        f_fb = q @ W("weight_fb").T
        c = {"below": below, "g": g, "q": q}
        if cell == "tanh":
            h_j = np.tanh(xw + f_fb + (b_hh if b_hh is not None else 0.0))
            c.update(h=h_j)
        elif cell == "gru":
            x_r, x_z, x_n = np.split(xw, 3, axis=-1)
            hw = h_prev[j] @ W("weight_hh").T + (b_hh[:2 * H] if b_hh is not None else 0.0)
            h_r, h_z = np.split(hw, 2, axis=-1)
            r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
            fb_b = f_fb + (b_hh[2 * H:] if b_hh is not None else 0.0)
            n = np.tanh(x_n + r * fb_b)
            h_j = (1 - z) * n + z * h_prev[j]
            c.update(r=r, z=z, n=n, fb_b=fb_b)
        else:
            x_i, x_f, x_g, x_o = np.split(xw, 4, axis=-1)
            hw = h_prev[j] @ W("weight_hh").T
            if b_hh is not None:
                hw = hw + np.concatenate([b_hh[:2 * H], b_hh[3 * H:]])
                f_fb_b = f_fb + b_hh[2 * H:3 * H]
            else:
                f_fb_b = f_fb
            h_i, h_f, h_o = np.split(hw, 3, axis=-1)
            i, f, o = sigmoid(x_i + h_i), sigmoid(x_f + h_f), sigmoid(x_o + h_o)
            gg = np.tanh(x_g + f_fb_b)
            c_j = f * c_prev[j] + i * gg
            tanh_c = np.tanh(c_j)
            h_j = o * tanh_c
            new_c.append(c_j)
            c.update(i=i, f=f, o=o, gg=gg, tanh_c=tanh_c)
        new_h.append(h_j)
        caches.append(c)
        below = h_j
    return below, tuple(new_h) + tuple(new_c), (h_prev, c_prev, h_star, caches)


def backward(p: dict[str, Array], cache, d_state: tuple[Array, ...], grads: dict[str, Array], cell: str,
             num_layers: int, gated: bool):
    """``d_state`` = (δh^1_t..δh^L_t[, δc^1_t..δc^L_t]), the output's gradient already added to δh^L_t.

    Returns (δx_t, δstate_{t-1}, per-layer total δh^j_t) — the last is what the diagnostics plot.
    """
    L = num_layers
    h_prev, c_prev, h_star, caches = cache
    B, H = h_star.shape[0], h_prev[0].shape[-1]
    dh = list(d_state[:L])
    dc = list(d_state[L:])
    dh_star = np.zeros_like(h_star)
    dh_prev_own = [np.zeros_like(h) for h in h_prev]
    dc_prev = [None] * L
    totals = [None] * L
    d_below = None
    for j in reversed(range(L)):
        W = lambda n: _layer(p, j, n)  # noqa: E731
        G = lambda n: f"{n}_l{j}"  # noqa: E731
        c = caches[j]
        dh_j = dh[j] if d_below is None else dh[j] + d_below
        totals[j] = dh_j
        has_bias = W("bias_ih") is not None
        if cell == "tanh":
            da = dh_j * (1 - c["h"] ** 2)
            dxw, df_fb = da, da
            if has_bias:
                add_grad(grads, G("bias_hh"), da.sum(0))
        elif cell == "gru":
            r, z, n = c["r"], c["z"], c["n"]
            dn = dh_j * (1 - z)
            dz = dh_j * (h_prev[j] - n)
            dh_prev_own[j] += dh_j * z
            da_n = dn * (1 - n * n)
            dr = da_n * c["fb_b"]
            df_fb = da_n * r
            da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)
            dxw = np.concatenate([da_r, da_z, da_n], axis=-1)
            dhw = np.concatenate([da_r, da_z], axis=-1)
            add_grad(grads, G("weight_hh"), dhw.T @ h_prev[j])
            dh_prev_own[j] += dhw @ W("weight_hh")
            if has_bias:
                add_grad(grads, G("bias_hh"), np.concatenate([dhw.sum(0), df_fb.sum(0)]))
        else:
            i, f, o, gg, tanh_c = c["i"], c["f"], c["o"], c["gg"], c["tanh_c"]
            do = dh_j * tanh_c
            dcj = dc[j] + dh_j * o * (1 - tanh_c ** 2)
            di, dg, df = dcj * gg, dcj * i, dcj * c_prev[j]
            dc_prev[j] = dcj * f
            da_i, da_f, da_g, da_o = di * i * (1 - i), df * f * (1 - f), dg * (1 - gg * gg), do * o * (1 - o)
            dxw = np.concatenate([da_i, da_f, da_g, da_o], axis=-1)
            dhw = np.concatenate([da_i, da_f, da_o], axis=-1)
            df_fb = da_g
            add_grad(grads, G("weight_hh"), dhw.T @ h_prev[j])
            dh_prev_own[j] += dhw @ W("weight_hh")
            if has_bias:
                add_grad(grads, G("bias_hh"), np.concatenate([da_i.sum(0), da_f.sum(0), da_g.sum(0), da_o.sum(0)]))
        below = c["below"]
        add_grad(grads, G("weight_ih"), dxw.T @ below)
        if has_bias:
            add_grad(grads, G("bias_ih"), dxw.sum(0))
        d_below = dxw @ W("weight_ih")
        # the feedback f_fb = U q, q = ĝ ⊙ h*
        add_grad(grads, G("weight_fb"), df_fb.T @ c["q"])
        dq = df_fb @ W("weight_fb")
        if gated:
            g = c["g"]
            dh_star += (g[:, :, None] * dq.reshape(B, L, H)).reshape(B, L * H)
            dgate = (dq.reshape(B, L, H) * h_star.reshape(B, L, H)).sum(-1)
            ds = dgate * g * (1 - g)
            add_grad(grads, G("weight_gx"), ds.T @ below)
            add_grad(grads, G("weight_gh"), ds.T @ h_star)
            d_below = d_below + ds @ W("weight_gx")
            dh_star += ds @ W("weight_gh")
        else:
            dh_star += dq
    d_h_prev = [dh_prev_own[i] + dh_star[:, i * H:(i + 1) * H] for i in range(L)]
    return d_below, tuple(d_h_prev) + tuple(dc_prev if cell == "lstm" else ()), totals
