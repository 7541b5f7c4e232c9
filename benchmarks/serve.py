"""The server under load on loopback: requests/s and latency percentiles, and what a full queue answers.

Two small runs (a GRU text classifier and a character language model, trained for a few steps on the test fixtures) are
served by ``rnnkit.serve`` under uvicorn in this process; ``--requests`` requests (half classify one text, half generate
5 tokens) come from ``--concurrency`` clients at once. Then a burst of long generations against a queue of 4 shows the
overflow answered with 503 at once, not a hang.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.timing import machine_line

FIX = Path(__file__).parent.parent / "tests" / "fixtures"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks serve")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args(argv)
    from rnnkit.serve import create_app
    from rnnkit.serve.loopback import LiveServer, load, summary
    from rnnkit.tasks.classify import ClassifyOptions, train_classifier
    from rnnkit.tasks.lm import LMOptions, train_language_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train_classifier(ClassifyOptions(data=str(FIX / "tiny_sentiment.csv"), cell="gru", hidden_size=64, epochs=1,
                                         min_freq=1, progress=False), root / "sentiment")
        train_language_model(LMOptions(data=str(FIX / "tiny_corpus.txt"), hidden_size=128, streams=2, bptt=10,
                                       max_steps=2, progress=False), root / "story")
        requests = [("/v1/models/sentiment/predict", {"inputs": [f"review {i}: a gorgeous, moving film"]}) if i % 2 else
                    ("/v1/models/story/predict", {"inputs": ["the "], "options": {"length": 5, "seed": i}})
                    for i in range(args.requests)]
        print(f"# rnnkit serve on loopback — {machine_line()}")
        with LiveServer(create_app([root / "sentiment", root / "story"])) as url:
            s = summary(load(url, requests, args.concurrency))
        print(f"{s['requests']} requests ({args.concurrency} concurrent, half classify, half generate 5 tokens): "
              f"{s['failed']} failed, {s['req_per_s']:.0f} req/s, p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms")
        burst = [("/v1/models/story/predict", {"inputs": ["the "], "options": {"length": 300}})] * 48
        with LiveServer(create_app([root / "story"], max_queue=4)) as url:
            result = load(url, burst, 48)
        codes = {c: result["statuses"].count(c) for c in sorted(set(result["statuses"]))}
        print(f"burst of 48 long generations against a queue of 4: status counts {codes}, all answered in "
              f"{result['seconds']:.1f} s")


if __name__ == "__main__":
    main()
