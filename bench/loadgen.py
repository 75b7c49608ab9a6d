"""The one load generator of every figure: Debian's ``wrk`` driven by ``lua/load.lua``.

wrk is written in C on an event loop; against the bare ASGI app it shows its own rate,
which must stay well above what Postino answers for the figures to mean anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).parent / "lua" / "load.lua"


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    errors: int
    non2xx: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """wrk's path; installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = ["apt-get", "install", "-y", "-q", "wrk"]
    if os.geteuid() != 0:
        apt = ["sudo", "-n", *apt]
    if subprocess.run(apt, capture_output=True).returncode != 0:
        subprocess.run([*apt[:-4], "update", "-q"] if apt[0] == "sudo" else ["apt-get", "update", "-q"],
                       capture_output=True)
        subprocess.run(apt, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk)")
    return found


def run(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    method: str = "POST",
    body: str | None = None,
    body_file: Path | None = None,
    requests_file: Path | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    delay_ms: float = 0,
    rate: float = 0,
    timeout: int = 10,
    authorization: str | None = None,
) -> Result:
    """One wrk run. ``delay_ms`` pauses each connection after an answer (closed loop);
    ``rate`` instead offers that many requests a second on a fixed schedule (see the script)."""
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_CTYPE": content_type, "BENCH_DELAY_MS": str(int(delay_ms)),
           "BENCH_RATE": str(rate / threads)}
    if authorization is not None:
        env["BENCH_AUTH"] = authorization
    if body is not None:
        env["BENCH_BODY"] = body
    if body_file is not None:
        env["BENCH_BODY_FILE"] = str(body_file)
    if requests_file is not None:
        env["BENCH_REQUESTS_FILE"] = str(requests_file)
    cmd = [
        ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout}s", "-s", str(SCRIPT), url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    data = json.loads(line.split(" ", 1)[1])
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        non2xx=data["non2xx"],
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
        mean_ms=data["mean"] / 1000,
        max_ms=data["max"] / 1000,
    )
