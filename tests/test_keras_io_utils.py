"""Interactive logging, as Keras's ``io_utils``: on (the default), fit's bars, the callbacks' notes and the summary
go to standard output; ``disable_interactive_logging()`` sends them to the log instead (Keras: absl's; rnnkit:
Python's logger "rnnkit.keras") and nothing to standard output; enabling it again restores the output."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import rnnkit.keras as rk


def model():
    m = rk.Sequential([rk.Input((3,)), rk.layers.Dense(1)], name="io")
    m.compile("sgd", "mse")
    return m


X, Y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")


def test_messages_go_to_standard_output_while_interactive(capsys):
    assert rk.config.is_interactive_logging_enabled() and rk.utils.is_interactive_logging_enabled()
    m = model()
    m.fit(X, Y, epochs=2, verbose=2, callbacks=[rk.callbacks.EarlyStopping(monitor="loss", patience=0, verbose=1,
                                                                            min_delta=10.0)])
    m.summary()
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "early stopping" in out and 'Model: "io"' in out


def test_disabled_interactive_logging_sends_them_to_the_log(capsys, caplog):
    rk.utils.disable_interactive_logging()
    try:
        m = model()
        with caplog.at_level(logging.INFO, logger="rnnkit.keras"):
            m.fit(X, Y, epochs=2, verbose=1, callbacks=[rk.callbacks.EarlyStopping(monitor="loss", patience=0,
                                                                                    verbose=1, min_delta=10.0)])
            m.summary()
        assert capsys.readouterr().out == ""
        logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "rnnkit.keras")
        assert "Epoch 1/2" in logged and "early stopping" in logged and 'Model: "io"' in logged
        assert "1/1" in logged  # the epoch's bar, once, as a log line
    finally:
        rk.config.enable_interactive_logging()
    assert rk.config.is_interactive_logging_enabled()


@pytest.mark.parametrize("switch", ["config", "utils"])
def test_keras_switches_exist_where_keras_has_them(switch):
    namespace = getattr(rk, switch)
    namespace.disable_interactive_logging()
    assert not namespace.is_interactive_logging_enabled()
    namespace.enable_interactive_logging()
    assert namespace.is_interactive_logging_enabled()
