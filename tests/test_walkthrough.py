"""End to end: ``biflow serve --demo`` as a real process, driven by the README's own curl
walkthrough, exactly as written there."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIFLOW = Path(sys.executable).parent / "biflow"


def readme_walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A walkthrough with curl", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=[1, 2], ids=["waitress", "gunicorn-2-workers"])
def server(request, tmp_path, database_url):
    port = free_port()
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    env = {**os.environ, "BIFLOW_DATABASE_URL": database_url}
    process = subprocess.Popen([str(BIFLOW), "serve", "--demo", "--port", str(port),
                                "--workers", str(request.param)],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"the server did not start: {process.communicate()[0]}")
    yield tmp_path, base
    process.terminate()
    process.wait(timeout=20)


def test_the_readme_walkthrough_works_as_written(server):
    folder, base = server
    script = "set -euo pipefail\n" + readme_walkthrough()
    result = subprocess.run(["bash", "-c", script], cwd=folder, capture_output=True,
                            text=True, env={**os.environ, "API": base}, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert '"key":"review"' in out.replace(" ", "")
    assert '"code":"validation_failed"' in out.replace(" ", "")
    assert "\ncompleted\n" in out
    assert '"action":"task.completed"' in out.replace(" ", "")
