"""A throwaway certificate authority and server certificate, made with the openssl command.

``ensure_certificates(dir)`` leaves in ``dir``:

* ``ca.pem`` - the CA certificate clients trust (AWS_CA_BUNDLE, curl's CAINFO);
* ``server.pem`` / ``server.key`` - a certificate for ``localhost``, ``127.0.0.1`` and
  ``::1`` signed by that CA, and its key.

Existing files are reused, so several fakes can share one directory; creation holds a
lock on ``dir/.lock`` so that two fakes starting together agree on one set of files.
"""

import fcntl
import os
import pathlib
import shutil
import subprocess
import tempfile

FILES = ("ca.pem", "server.pem", "server.key")

_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def _openssl(*args, cwd):
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _make(work):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
             "-subj", "/CN=fake-appstream throwaway CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=work)
    _openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=work)
    (work / "server.ext").write_text(_SERVER_EXTENSIONS)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "825",
             "-extfile", "server.ext", "-out", "server.pem", cwd=work)


def ensure_certificates(directory):
    """Create the CA and server certificate in `directory` unless present; return
    (ca, certificate, key) paths."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in FILES]
    with open(directory / ".lock", "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(p.exists() for p in paths):
            return tuple(paths)
        work = pathlib.Path(tempfile.mkdtemp(prefix=".tls-", dir=directory))
        try:
            _make(work)
            for name in FILES:
                os.replace(work / name, directory / name)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return tuple(paths)
