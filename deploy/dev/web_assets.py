"""Fetch the console's browser assets (htmx, Swagger UI) pinned in ``console/assets.lock``.

Each package is downloaded once from the npm registry into a cache keyed by its integrity hash
(``$XDG_CACHE_HOME/sebac/npm``, default ``~/.cache/sebac/npm``), checked against the lock's sha512,
and only the listed files are extracted into ``console/static/vendor/`` (ignored by git: nothing
fetched from another project is committed). Idempotent: a file already extracted with the right
package version is left alone.

    python deploy/dev/web_assets.py          # fetch what is missing
    python deploy/dev/web_assets.py --check  # exit 1 when a file is missing
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "console" / "assets.lock"
VENDOR = ROOT / "console" / "static" / "vendor"
REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")


def read_lock(text: str) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    packages: list[tuple[str, str, str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith(" "):
            src, _, dst = line.strip().partition(" -> ")
            packages[-1][3].append((src, dst))
        else:
            name, version, integrity = line.split()
            packages.append((name, version, integrity, []))
    return packages


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "sebac" / "npm"


def _verified(data: bytes, integrity: str) -> bool:
    algo, _, digest = integrity.partition("-")
    return base64.b64encode(hashlib.new(algo, data).digest()).decode() == digest


def tarball(name: str, version: str, integrity: str) -> bytes:
    cached = _cache_dir() / (hashlib.sha256(integrity.encode()).hexdigest() + ".tgz")
    if cached.exists() and _verified(cached.read_bytes(), integrity):
        return cached.read_bytes()
    url = f"{REGISTRY}/{name}/-/{name.split('/')[-1]}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=120) as answer:
        data = answer.read()
    if not _verified(data, integrity):
        raise SystemExit(f"web_assets: {name}@{version} from {url} does not match its integrity; refused")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def main(argv: list[str]) -> int:
    check = "--check" in argv
    missing = []
    for name, version, integrity, files in read_lock(LOCK.read_text()):
        stamp = VENDOR / f".{name}-{version}"
        wanted = [dst for _, dst in files if not (VENDOR / dst).exists()]
        if not wanted and stamp.exists():
            continue
        if check:
            missing.append(f"{name}@{version}")
            continue
        with tarfile.open(fileobj=io.BytesIO(tarball(name, version, integrity)), mode="r:gz") as tar:
            for src, dst in files:
                member = tar.extractfile(src)
                if member is None:
                    raise SystemExit(f"web_assets: {src} is not in {name}@{version}")
                target = VENDOR / dst
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(member.read())
        stamp.write_text(integrity + "\n")
        print(f"web_assets: {name}@{version} -> {VENDOR.relative_to(ROOT)}")
    if missing:
        print("web_assets: missing " + ", ".join(missing) + "; run: python deploy/dev/web_assets.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
