"""Offline stand-in for pip's ``get-pip.py``, used by ansible-test to bootstrap pip.

ansible-test creates its sanity-test virtual environments with ``python -m venv --without-pip`` and then
bootstraps pip by running ``get-pip-<version>.py``, which it downloads from a host that is not reachable
from our machines.  Before downloading it looks for a cached copy at
``~/.ansible/test/cache/get_pip_<version with dots as underscores>.py``; ``tests/sanity/run.sh`` installs
this file there.

ansible-test runs the cached file through its ``quiet_pip.py`` wrapper (``runpy`` with ``__main__``) with
get-pip's command line, e.g.::

    get_pip_24_2.py --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

This stand-in does what get-pip does, without the download:

1. bootstraps pip into the running interpreter with the interpreter's own ``ensurepip`` (bundled wheel);
2. runs ``pip install --cert <CA bundle> <the given arguments>`` so that the requested pip version (and
   any other package named) comes from the configured index (PyPI), verified against the system CA
   bundle instead of only pip's vendored one;
3. honours ``--no-setuptools`` / ``--no-wheel`` by removing what ensurepip added on its own (Python 3.11's
   ensurepip also installs setuptools), so the environment matches what real get-pip produces.

It exits non-zero, with the failing command shown, if any step fails.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

# get-pip.py options that are not pip options; get-pip consumes them itself.
GET_PIP_FLAGS = ("--no-setuptools", "--no-wheel", "--no-pip")

CA_CANDIDATES_ENV = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
CA_CANDIDATES_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, FreeBSD
)


def log(message: str) -> None:
    print(f"get_pip_standin: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str]) -> None:
    log("running: " + " ".join(cmd))
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        log(f"FAILED with exit code {result.returncode}: " + " ".join(cmd))
        raise SystemExit(result.returncode)


def installed(dist: str) -> bool:
    """True if the running interpreter can import ``dist`` (checked in a fresh process, not cached)."""
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({dist!r}) else 1)"
    return subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def ca_bundle() -> str | None:
    """The CA bundle to give pip: an explicit environment setting, the system bundle, or certifi's."""
    for name in CA_CANDIDATES_ENV:
        path = os.environ.get(name)
        if path and os.path.isfile(path):
            return path
    for path in CA_CANDIDATES_FILES:
        if os.path.isfile(path):
            return path
    if importlib.util.find_spec("certifi") is not None:
        import certifi

        return certifi.where()
    return None


def main(argv: list[str]) -> int:
    flags = {arg for arg in argv if arg in GET_PIP_FLAGS}
    pip_args = [arg for arg in argv if arg not in GET_PIP_FLAGS]

    had_setuptools = installed("setuptools")
    had_wheel = installed("wheel")

    if not installed("pip"):
        # --default-pip also writes the plain "pip" script; --upgrade is harmless when nothing is there.
        run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    else:
        log("pip is already importable; skipping ensurepip")

    if "--no-pip" not in flags or any(not arg.startswith("-") for arg in pip_args):
        cmd = [sys.executable, "-m", "pip", "install"]
        cert = ca_bundle()
        if cert:
            cmd += ["--cert", cert]
        else:
            log("no CA bundle found; pip will use its vendored certifi")
        cmd += pip_args if any(not arg.startswith("-") for arg in pip_args) else pip_args + ["pip"]
        run(cmd)

    # ensurepip may have added these; real get-pip would not have installed them with these flags.
    remove = []
    if "--no-setuptools" in flags and not had_setuptools and installed("setuptools"):
        remove.append("setuptools")
    if "--no-wheel" in flags and not had_wheel and installed("wheel"):
        remove.append("wheel")
    if remove:
        run([sys.executable, "-m", "pip", "uninstall", "--yes", "--disable-pip-version-check", *remove])

    log("pip bootstrap complete")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
