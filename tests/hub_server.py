"""Olah mirror for read tests: offline mirror mode serving git repos the tests build.

olah (``pip install olah``) serves ``<mirrors-path>/datasets/<org>/<name>`` git repos
as Hub dataset repos when ``[accessibility] offline = true``: repo info, HEAD/GET
``resolve`` with ``X-Repo-Commit``/``ETag``, any branch, tag or commit as revision.
It runs as a subprocess on a free 127.0.0.1 port and is stopped by its pid.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["OlahMirror", "git_publish"]

_GIT = ["git", "-c", "user.email=tests@hades-zoo", "-c", "user.name=tests",
        "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]


def git_publish(mirror_root: Path, repo_id: str, folder: Path, *, tag: str | None = None,
                message: str = "publish") -> str:
    """Commit ``folder``'s files to the mirror's git repo for ``repo_id``; return sha."""
    repo = Path(mirror_root) / "datasets" / repo_id
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run([*_GIT, "init", "-q"], cwd=repo, check=True)
    for src in Path(folder).rglob("*"):
        if src.is_file():
            dst = repo / src.relative_to(folder)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    subprocess.run([*_GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*_GIT, "commit", "-q", "-m", message], cwd=repo, check=True)
    if tag:
        subprocess.run([*_GIT, "tag", tag], cwd=repo, check=True)
    out = subprocess.run([*_GIT, "rev-parse", "HEAD"], cwd=repo, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OlahMirror:
    """An olah server in offline mirror mode; ``url`` is its endpoint."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.mirrors = self.root / "mirrors"
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> OlahMirror:
        self.mirrors.mkdir(parents=True, exist_ok=True)
        cfg = self.root / "olah.toml"
        cfg.write_text(
            "[basic]\n"
            f'host = "127.0.0.1"\nport = {self.port}\n'
            f'repos-path = "{self.root / "repos"}"\n'
            f'mirrors-path = ["{self.mirrors}"]\n'
            "[accessibility]\noffline = true\n"
        )
        log = open(self.root / "olah.log", "wb")
        cmd = ["nice", "-n", "5", sys.executable, "-m", "olah.server", "-c", str(cfg),
               "--log-path", str(self.root / "logs")]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        self.proc = subprocess.Popen(cmd, cwd=self.root, stdout=log, stderr=log, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"olah exited: {(self.root / 'olah.log').read_text()}")
            try:
                urllib.request.urlopen(self.url + "/api/whoami-v2", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # any HTTP answer means it is up
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("olah did not start within the timeout")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def publish(self, repo_id: str, folder: Path, *, tag: str | None = None) -> str:
        return git_publish(self.mirrors, repo_id, folder, tag=tag)
