"""The server on loopback, for tests and benchmarks: ``LiveServer`` runs an app with uvicorn in a thread on a free port;
``load`` sends requests from many concurrent clients and returns each one's status and latency."""

from __future__ import annotations

import asyncio
import socket
import statistics
import threading
import time


class LiveServer:
    """``with LiveServer(app) as url:`` — uvicorn on 127.0.0.1, a free port, stopped on exit."""

    def __init__(self, app) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        if not self.server.started:
            raise RuntimeError("the server did not start within 30 s")
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def load(url: str, requests: list[tuple[str, dict]], concurrency: int, timeout: float = 120) -> dict:
    """POST every ``(path, json)`` with ``concurrency`` clients; {"statuses", "latencies" (s), "seconds"}."""
    import httpx

    statuses, latencies, queue = [], [], list(reversed(requests))

    async def client_loop(client):
        while queue:
            path, body = queue.pop()
            start = time.perf_counter()
            r = await client.post(url + path, json=body, timeout=timeout)
            latencies.append(time.perf_counter() - start)
            statuses.append(r.status_code)

    async def main():
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
            await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))

    start = time.perf_counter()
    asyncio.run(main())
    return {"statuses": statuses, "latencies": latencies, "seconds": time.perf_counter() - start}


def summary(result: dict) -> dict:
    lat = sorted(result["latencies"])
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    ok = result["statuses"].count(200)
    return {"requests": len(lat), "ok": ok, "failed": len(lat) - ok, "req_per_s": len(lat) / result["seconds"],
            "p50_ms": 1000 * q[49], "p99_ms": 1000 * q[98]}


__all__ = ["LiveServer", "load", "summary"]
