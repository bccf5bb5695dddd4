"""Fetch the pinned front-end assets from the npm registry and check their hashes.

Only the npm client is used (the registry it is configured with); nothing is loaded
from a CDN at run time and nothing fetched is committed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "quita" / "static" / "vendor"

# package spec, sha256 of the tarball `npm pack` returns, file inside it, destination
ASSETS = [
    (
        "htmx.org@2.0.11",
        "165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e",
        "package/dist/htmx.min.js",
        "htmx.min.js",
    ),
]


def fetch(spec: str, sha256: str, member: str, target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to fetch htmx (Debian: apt-get install -y npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", spec, "--pack-destination", tmp, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(tmp).glob("*.tgz")
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != sha256:
            sys.exit(f"{spec}: sha256 {digest} does not match the pinned {sha256}")
        with tarfile.open(tarball) as archive:
            source = archive.extractfile(member)
            if source is None:
                sys.exit(f"{spec}: {member} missing from the package")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())


def main() -> None:
    for spec, sha256, member, name in ASSETS:
        target = VENDOR / name
        fetch(spec, sha256, member, target)
        print(f"fetched {spec} -> {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
