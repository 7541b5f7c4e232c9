"""``callbacks.RemoteMonitor``: a local server receives after each epoch what Keras 3's own RemoteMonitor sends for
the same logs — a form field holding the JSON, or a JSON body, with the given headers — and an unreachable server is
a warning, not a stopped run."""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


@pytest.fixture()
def server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.path, self.headers.get("Content-Type", "").split(";")[0], self.headers.get("X-Run"),
                             body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()


def payloads(received):
    out = []
    for path, kind, run, body in received:
        data = json.loads(body) if kind == "application/json" else json.loads(urllib.parse.parse_qs(body)["data"][0])
        out.append((path, kind, run, data))
    return out


@pytest.mark.parametrize("as_json", [False, True])
def test_each_epoch_is_posted_as_keras_posts_it(server, as_json):
    root, received = server
    logs = {"loss": np.float32(0.25), "accuracy": 0.5, "f1": np.array([0.1, 0.2])[:1]}
    for lib in (keras, rk):
        monitor = lib.callbacks.RemoteMonitor(root=root, path="/epochs/", headers={"X-Run": "7"},
                                              send_as_json=as_json)
        monitor.on_epoch_end(3, logs)
    theirs, ours = payloads(received)
    assert ours[:3] == theirs[:3] and ours[3] == pytest.approx(theirs[3])
    assert ours[3]["epoch"] == 3 and ours[3]["loss"] == pytest.approx(0.25)


def test_a_fit_posts_every_epoch_and_survives_a_missing_server(server):
    root, received = server
    x, y = np.random.default_rng(0).random((8, 3)).astype("float32"), np.zeros((8, 1), "float32")
    m = rk.Sequential([rk.Input((3,)), rk.layers.Dense(1)])
    m.compile("sgd", "mse")
    m.fit(x, y, epochs=3, verbose=0, callbacks=[rk.callbacks.RemoteMonitor(root=root)])
    assert [p[3]["epoch"] for p in payloads(received)] == [0, 1, 2]
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[rk.callbacks.RemoteMonitor(root="http://127.0.0.1:9")])
