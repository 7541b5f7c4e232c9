"""The server: every endpoint and error through FastAPI's test client, streaming generation, a bounded queue, a load
test on loopback, and the web page driven in a real headless browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rnnkit.cli import app as cli_app
from rnnkit.serve import create_app
from rnnkit.serve.loopback import LiveServer, summary
from rnnkit.serve.loopback import load as load_test
from rnnkit.tasks import load

FIX = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(os.environ.get("RNNKIT_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))


def cli(*args):
    r = CliRunner().invoke(cli_app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    cli("train", "classify", "--data", FIX / "tiny_sentiment.csv", "--min-freq", "1", "--hidden-size", "8",
        "--embedding-dim", "8", "--epochs", "2", "--val-fraction", "0.2", "--cell", "gru", "--progress", "false",
        "--out", root / "sentiment")
    cli("train", "lm", "--data", FIX / "tiny_corpus.txt", "--hidden-size", "16", "--embedding-dim", "8", "--streams",
        "2", "--bptt", "10", "--max-steps", "3", "--eval-every", "1", "--progress", "false", "--out", root / "story")
    cli("train", Path(__file__).parent.parent / "examples" / "digits.yaml", "--epochs", "1", "--progress", "false",
        "--out", root / "digits")
    months = [f"{2015 + m // 12}-{m % 12 + 1:02d}-01" for m in range(48)]
    (root / "sales.csv").write_text("id,timestamp,value\n" + "".join(
        f"{name},{d},{100 + 10 * k + m + 8 * ((m % 12) < 6)}\n" for k, name in enumerate("ab")
        for m, d in enumerate(months)))
    cli("train", "forecast", "--data", root / "sales.csv", "--hidden-size", "8", "--max-steps", "2", "--progress",
        "false", "--out", root / "sales")
    return root


@pytest.fixture(scope="module")
def client(runs):
    with TestClient(create_app([runs / "sentiment", runs / "story", runs / "digits"])) as c:
        yield c


def no_trace(response) -> None:
    assert "Traceback" not in response.text and "File \"" not in response.text


# --- the API ------------------------------------------------------------------------------------------------------
def test_health_listing_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok", "models": 3, "queued": 0}
    models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert {n: m["task"] for n, m in models.items()} == {"sentiment": "classify", "story": "lm", "digits": "sequence"}
    assert models["sentiment"]["labels"] == ["negative", "positive"] and "validation_accuracy" in models["sentiment"][
        "metrics"]
    assert models["story"]["streaming"] and "/v1/models/story/figures/curve.png" in models["story"]["figures"].values()
    assert client.get("/v1/models/story").json()["task"] == "lm"
    png = client.get("/v1/models/story/figures/curve.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert client.get("/docs").status_code == 200
    assert "/v1/models/{name}/predict" in client.get("/openapi.json").json()["paths"]
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text and "cdn" not in page.text.lower()
    for asset, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert "https://" not in r.text  # nothing from a CDN: the page works offline
    assert client.get("/static/..%2F..%2F__init__.py").status_code == 404


def test_predict_for_every_task_matches_the_python_api(client, runs):
    texts = ["a gorgeous, moving film", "dull and far too long"]
    r = client.post("/v1/models/sentiment/predict", json={"inputs": texts})
    assert r.status_code == 200
    expected = load(runs / "sentiment").predict(texts)
    assert [(o["label"], o["probabilities"]) for o in r.json()["outputs"]] == [tuple(e) for e in expected]
    r = client.post("/v1/models/story/predict", json={"inputs": ["the "], "options": {"length": 15, "seed": 3}})
    assert r.json()["outputs"][0]["text"] == "".join(load(runs / "story").stream("the ", 15, 0.8, seed=3))
    # sequences of different lengths, padded together on the server: each as the model computes it alone
    seqs = [torch.rand(8, 8), torch.rand(3, 8)]
    r = client.post("/v1/models/digits/predict", json={"inputs": [s.tolist() for s in seqs]})
    model = load(runs / "digits").model
    for s, out in zip(seqs, r.json()["outputs"]):
        with torch.no_grad():
            torch.testing.assert_close(torch.tensor(out["probabilities"]), torch.softmax(model(s[None]), -1)[0],
                                       atol=1e-6, rtol=0)


def test_generation_streams_server_sent_events_token_by_token(client, runs):
    with client.stream("POST", "/v1/models/story/generate", json={"prompt": "the ", "options": {"length": 12}}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [e for e in r.iter_text() for e in e.split("\n\n") if e.strip()]
    pieces = [json.loads(e[len("data: "):])["text"] for e in events if e.startswith("data: ")]
    assert events[-1].startswith("event: done") and len(pieces) >= 10  # one event per token (a few may merge)
    assert "".join(pieces) == "".join(load(runs / "story").stream("the ", 12, 0.8, seed=0))


@pytest.mark.parametrize("method, url, body, status, message", [
    ("post", "/v1/models/nope/predict", {"inputs": ["x"]}, 404, "no model named 'nope'"),
    ("get", "/v1/models/nope", None, 404, "no model named 'nope'"),
    ("post", "/v1/models/sentiment/predict", {"inputs": []}, 422, "give 1 to 256 inputs"),
    ("post", "/v1/models/sentiment/predict", {"inputs": ["x"] * 300}, 422, "give 1 to 256 inputs, got 300"),
    ("post", "/v1/models/sentiment/predict", {"inputs": ["x" * 20001]}, 422, "the limit is 20000"),
    ("post", "/v1/models/sentiment/predict", {"inputs": [3]}, 422, "must be a non-empty text"),
    ("post", "/v1/models/sentiment/predict", {"texts": ["x"]}, 422, "inputs: Field required"),
    ("post", "/v1/models/story/predict", {"inputs": ["x"], "options": {"length": 0}}, 422, "length must be in [1, 5000]"),
    ("post", "/v1/models/story/predict", {"inputs": ["x"], "options": {"colour": 1}}, 422, "colour"),
    ("post", "/v1/models/digits/predict", {"inputs": [[[1, 2]]]}, 422, "expected shape (1..100000 steps, 8 features)"),
    ("post", "/v1/models/sentiment/generate", {"prompt": "x"}, 422, "does not generate"),
    ("get", "/v1/models/story/figures/config.json", None, 404, "no figure"),
    ("get", "/v1/models/story/figures/..%2F..%2Fconfig.json", None, 404, ""),
])
def test_errors_are_json_with_a_message_and_never_a_trace(client, method, url, body, status, message):
    r = getattr(client, method)(url, **({"json": body} if body is not None else {}))
    assert r.status_code == status, r.text
    assert message in r.json().get("error", r.text)
    no_trace(r)


def test_malformed_json_and_oversized_bodies(client):
    r = client.post("/v1/models/sentiment/predict", content=b'{"inputs": [', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON decode error" in r.json()["error"]
    r = client.post("/v1/models/sentiment/predict", content=b'{"inputs": ["' + b"a" * (2 << 20) + b'"]}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "the limit is 1048576 bytes" in r.json()["error"]

    def chunks(n):  # no content-length: counted as it arrives
        yield b'{"inputs": ["'
        yield b"a" * n
        yield b'"]}'

    r = client.post("/v1/models/sentiment/predict", content=chunks(2 << 20), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit of 1048576 bytes" in r.json()["error"]
    r = client.post("/v1/models/sentiment/predict", content=chunks(10), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["outputs"][0]["label"] in ("negative", "positive")


def test_a_model_that_raises_gives_500_with_an_error_id_and_logs_the_trace(runs, caplog):
    with TestClient(create_app([runs / "sentiment"]), raise_server_exceptions=False) as c:
        model = c.app.state.models["sentiment"]

        def broken(inputs, options):
            raise RuntimeError("secret internal detail")

        model.predictor.predict_json = broken
        r = c.post("/v1/models/sentiment/predict", json={"inputs": ["x"]})
    assert r.status_code == 500 and len(r.json()["error_id"]) == 12
    assert "secret" not in r.text
    no_trace(r)
    assert r.json()["error_id"] in caplog.text and "secret internal detail" in caplog.text


def test_a_full_queue_answers_503_at_once(runs):
    with TestClient(create_app([runs / "sentiment"], max_queue=0)) as c:
        model, gate = c.app.state.models["sentiment"], threading.Event()
        real = model.predictor.predict_json

        def slow(inputs, options):
            gate.wait(30)
            return real(inputs, options)

        model.predictor.predict_json = slow
        first = {}
        t = threading.Thread(target=lambda: first.update(r=c.post("/v1/models/sentiment/predict",
                                                                  json={"inputs": ["x"]})))
        t.start()
        deadline = time.time() + 10
        while c.app.state.worker.pending == 0 and time.time() < deadline:
            time.sleep(0.01)
        start = time.perf_counter()
        r = c.post("/v1/models/sentiment/predict", json={"inputs": ["y"]})
        assert r.status_code == 503 and "busy" in r.json()["error"] and time.perf_counter() - start < 2
        gate.set()
        t.join(30)
        assert first["r"].status_code == 200


def test_rnnkit_serve_binds_loopback_by_default_and_answers(runs):
    """The command itself, as a user starts it: it listens on 127.0.0.1 only, and answers."""
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "rnnkit"), "serve", str(runs / "sentiment"), "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, health = time.time() + 60, None
        while time.time() < deadline and health is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health == {"status": "ok", "models": 1, "queued": 0}
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        if listening:  # the local address column: loopback only
            assert [line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()] == ["127.0.0.1"]
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert f"serving sentiment on http://127.0.0.1:{port}/" in out


# --- a real server on loopback ------------------------------------------------------------------------------------
def test_load_2000_requests_32_concurrent_none_fail(runs):
    requests = [("/v1/models/sentiment/predict", {"inputs": [f"review number {i}: quite good"]}) if i % 2 else
                ("/v1/models/story/predict", {"inputs": ["the "], "options": {"length": 5, "seed": i}})
                for i in range(2000)]
    with LiveServer(create_app([runs / "sentiment", runs / "story"])) as url:
        result = load_test(url, requests, 32)
    statuses = result["statuses"]
    assert statuses.count(200) == 2000, {s: statuses.count(s) for s in set(statuses)}
    print("\nload:", summary(result))


def test_overload_gets_503_not_a_hang(runs):
    requests = [("/v1/models/story/predict", {"inputs": ["the "], "options": {"length": 300}})] * 48
    with LiveServer(create_app([runs / "story"], max_queue=4)) as url:
        result = load_test(url, requests, 48)
    statuses = result["statuses"]
    assert set(statuses) == {200, 503} and statuses.count(200) >= 5 and result["seconds"] < 60


# --- the web page in a real browser -------------------------------------------------------------------------------
def test_web_page_in_headless_chromium(runs):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make installs it with apt-get where it can)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LiveServer(create_app([runs / "sentiment", runs / "story", runs / "sales"])) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1200})
            console = []
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.goto(url + "/")
            page.wait_for_selector("body[data-ready=true]", timeout=30000)
            card = page.locator("section.card[data-model=sentiment]")
            card.locator("textarea").fill("a gorgeous, moving film")
            card.locator("button").click()
            card.locator("[data-testid=bar]").nth(1).wait_for(timeout=30000)
            shown = {row.locator(".label").inner_text(): row.locator(".value").inner_text()
                     for row in card.locator("[data-testid=bar]").all()}
            label, probs = load(runs / "sentiment").predict(["a gorgeous, moving film"])[0]
            assert shown == {k: f"{100 * v:.1f}%" for k, v in probs.items()}
            assert card.locator(".bar-row.top .label").inner_text() == label
            lm = page.locator("section.card[data-model=story]")
            lm.locator("textarea").fill("the ")
            lm.locator("input[name=length]").fill("30")
            lm.locator("button").click()
            page.wait_for_selector("section.card[data-model=story] pre[data-done=true]", timeout=30000)
            expected = "the " + "".join(load(runs / "story").stream("the ", 30, 0.8, seed=0))
            assert lm.locator("pre").inner_text() == expected.strip() or lm.locator("pre").inner_text() == expected
            lm.locator("input[name=length]").fill("0")
            lm.locator("button").click()
            lm.locator(".error").wait_for(state="visible", timeout=30000)
            assert "length must be in [1, 5000]" in lm.locator(".error").inner_text()
            # a forecast card: numbers typed as text, a chart of the history, forecast and interval, and a table of
            # the steps whose numbers are the run's own forecast (Forecaster.predict_json, the API's code path)
            sales = page.locator("section.card[data-model=sales]")
            values = [float(100 + m + 8 * ((m % 12) < 6)) for m in range(36)]
            sales.locator("textarea").fill(", ".join(f"{v:g}" for v in values))
            sales.locator("input[name=horizon]").fill("6")
            sales.locator("button").click()  # no date: the run reads the month from the dates, and says so
            sales.locator(".error").wait_for(state="visible", timeout=30000)
            assert "has no dates" in sales.locator(".error").inner_text()
            sales.locator("input[name=start]").fill("2020-01-01")
            sales.locator("button").click()
            sales.locator("[data-testid=forecast-row]").nth(5).wait_for(timeout=30000)
            expected = load(runs / "sales").predict_json([values], {"horizon": 6, "start": "2020-01-01"})[0]
            assert expected["steps"][0] == "2023-01-01"  # 36 months after the first value's date
            rows = [[cell.inner_text() for cell in row.locator("td").all()]
                    for row in sales.locator("[data-testid=forecast-row]").all()]
            assert [r[0] for r in rows] == [str(k) for k in expected["steps"]]
            assert [float(r[1]) for r in rows] == pytest.approx(expected["forecast"], rel=1e-5)
            assert [float(r[2]) for r in rows] == pytest.approx(expected["quantiles"]["0.1"], rel=1e-5)
            assert sales.locator("svg[data-testid=forecast-chart] polyline.history").count() == 1
            assert sales.locator("svg[data-testid=forecast-chart] polygon.band").count() == 1
            sales.locator("textarea").fill("1, 2, x")
            sales.locator("button").click()
            sales.locator(".error").wait_for(state="visible", timeout=30000)
            assert "value 3: 'x' is not a number" in sales.locator(".error").inner_text()
            page.screenshot(path=str(ARTIFACTS / "web_page.png"), full_page=True)
            # on a phone's width the page does not scroll sideways (the forecast's table scrolls in its own box), and
            # nothing it asked for was missing (no favicon 404 in the console)
            sales.locator("textarea").fill(", ".join(f"{v:g}" for v in values))
            sales.locator("button").click()
            sales.locator("[data-testid=forecast-row]").nth(5).wait_for(timeout=30000)
            page.set_viewport_size({"width": 390, "height": 800})
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert not [m for m in console if "404" in m], console  # (the 422s are the errors asked for above)
        finally:
            browser.close()
    assert (ARTIFACTS / "web_page.png").stat().st_size > 10000


@pytest.fixture(scope="module")
def asr_run(tmp_path_factory):
    """A tiny speech run trained on three synthesised words (and the folder holding their WAVs)."""
    if shutil.which("chromium") is None or shutil.which("espeak-ng") is None:
        pytest.skip("Debian's chromium and espeak-ng are needed")
    import soundfile

    from rnnkit.data.speech_synth import Utterance, synthesize
    from rnnkit.tasks.speech import ASROptions, train_asr

    root = tmp_path_factory.mktemp("asr")
    rows = []
    for i, word in enumerate(("yes", "no", "go left")):
        soundfile.write(root / f"{i}.wav", synthesize(Utterance(word, "en-us+m3", 150, 50, 120, 1)), 22050)
        rows.append(json.dumps({"audio": f"{i}.wav", "text": word}) + "\n")
    (root / "m.jsonl").write_text("".join(rows))
    manifest = str(root / "m.jsonl")
    train_asr(ASROptions(data=manifest, validation=manifest, test=manifest, n_mels=20, hidden_size=16, max_steps=5,
                         epochs=100, batch_size=3, progress=False), root / "asr")
    return root


def asr_page(p, url, *args):
    browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu", *args])
    page = browser.new_page()
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=30000)
    sent = []  # the audio each transcription request carried
    page.on("request", lambda r: sent.append(json.loads(r.post_data)["inputs"][0]) if r.method == "POST" else None)
    return browser, page, page.locator("section.card[data-model=asr]"), sent


def shown_transcript(card) -> str:
    card.locator("pre[data-testid=text]").wait_for(state="attached", timeout=30000)
    return card.locator("pre[data-testid=text]").text_content()


def test_web_page_transcribes_a_chosen_recording_in_headless_chromium(asr_run):
    # a speech run's card takes a file, not text: the recording goes to the API as base64 and the transcript shown is
    # the run's own transcription of that file
    from playwright.sync_api import sync_playwright

    expected = load(asr_run / "asr").transcribe([asr_run / "0.wav"])[0]["text"]
    with LiveServer(create_app([asr_run / "asr"])) as url, sync_playwright() as p:
        browser, page, card, sent = asr_page(p, url)
        try:
            assert card.locator("textarea").is_hidden()
            assert card.locator("button[type=submit]").inner_text() == "Transcribe"
            assert card.locator("button.record").inner_text() == "● Record"
            card.locator("button[type=submit]").click()  # nothing chosen or recorded yet
            card.locator(".error").wait_for(state="visible", timeout=30000)
            assert "choose a recording" in card.locator(".error").inner_text()
            card.locator("input[type=file]").set_input_files(str(asr_run / "0.wav"))
            card.locator("button[type=submit]").click()
            assert shown_transcript(card) == expected
            assert base64.b64decode(sent[-1]) == (asr_run / "0.wav").read_bytes()  # a WAV goes as it is
        finally:
            browser.close()


def sent_wav(asr_run, b64: str, shown: str):
    """The samples and rate of the audio the page sent, checked to be a mono 16-bit WAV whose transcript by the run
    is the one the page showed."""
    import soundfile

    info = soundfile.info(io.BytesIO(base64.b64decode(b64)))
    assert (info.format, info.subtype, info.channels) == ("WAV", "PCM_16", 1)
    assert shown == load(asr_run / "asr").predict_json([b64])[0]["text"]
    return soundfile.read(io.BytesIO(base64.b64decode(b64)), dtype="float32")


def test_web_page_sends_a_phones_or_browsers_recording_as_it_is(asr_run, tmp_path):
    # an Opus file in WebM (what browsers and many phones record) goes to the server as it is; the server decodes it
    # with ffmpeg (PyAV), and the transcript shown is the run's own transcription of the file
    import av
    import soundfile
    from playwright.sync_api import sync_playwright
    from scipy.signal import resample_poly

    from tests.test_data_audio import encode_with_ffmpeg

    wave, rate = soundfile.read(asr_run / "1.wav", dtype="float32")
    encode_with_ffmpeg(tmp_path / "no.webm", resample_poly(wave, 320, 147).astype("float32"), 48000, "webm", "libopus")
    assert av.open(str(tmp_path / "no.webm")).streams.audio[0].codec_context.name == "opus"
    expected = load(asr_run / "asr").transcribe([tmp_path / "no.webm"])[0]["text"]
    with LiveServer(create_app([asr_run / "asr"])) as url, sync_playwright() as p:
        browser, page, card, sent = asr_page(p, url)
        try:
            card.locator("input[type=file]").set_input_files(str(tmp_path / "no.webm"))
            card.locator("button[type=submit]").click()
            assert shown_transcript(card) == expected
        finally:
            browser.close()
    assert base64.b64decode(sent[-1]) == (tmp_path / "no.webm").read_bytes()


def test_web_page_records_from_the_microphone(asr_run):
    # Chromium's fake microphone plays a WAV; the card records it, shows a player, and sends a mono 16-bit WAV of about
    # the recorded length, not silence; the transcript shown is the run's on that WAV
    import numpy as np
    from playwright.sync_api import sync_playwright

    with LiveServer(create_app([asr_run / "asr"])) as url, sync_playwright() as p:
        browser, page, card, sent = asr_page(p, url, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                             f"--use-file-for-fake-audio-capture={asr_run / '2.wav'}")
        try:
            card.locator("button.record").click()
            card.locator(".record-status", has_text="recording").wait_for(timeout=30000)
            assert card.locator("button.record").inner_text() == "■ Stop"
            time.sleep(2.0)
            card.locator("button.record").click()
            page.wait_for_selector("section.card[data-model=asr] .recorder[data-recorded=true]", timeout=30000)
            assert card.locator("audio").is_visible()
            card.locator("button[type=submit]").click()
            text = shown_transcript(card)
        finally:
            browser.close()
    data, rate = sent_wav(asr_run, sent[-1], text)
    assert 1.0 < len(data) / rate < 6.0
    assert np.sqrt(np.mean(data ** 2)) > 1e-3
