/* PIECES(call): `call` (which may use k) for every piece k < n_pieces of a batch's rows, one OpenMP thread each —
 * torch's own threads (the library links the libgomp torch has loaded); in order on one thread without OpenMP. Each
 * piece is the row range [B·k / n_pieces, B·(k+1) / n_pieces). */
#ifndef RNNKIT_PIECES_H
#define RNNKIT_PIECES_H
#ifdef _OPENMP
#define PIECES(...)                                                                                                   \
    do {                                                                                                              \
        _Pragma("omp parallel for schedule(static, 1) num_threads(n_pieces) if (n_pieces > 1)")                       \
        for (long k = 0; k < n_pieces; k++)                                                                           \
            __VA_ARGS__;                                                                                              \
    } while (0)
#else
#define PIECES(...)                                                                                                   \
    for (long k = 0; k < n_pieces; k++)                                                                               \
    __VA_ARGS__
#endif
#endif
