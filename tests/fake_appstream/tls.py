"""A throwaway certificate authority and server certificates, made with the openssl command.

``ensure_certificates(dir)`` leaves in ``dir``:

* ``ca.pem`` - the CA certificate clients trust (AWS_CA_BUNDLE, curl's CAINFO);
* ``ca.key`` - its key, kept so that later certificates come from the same CA;
* ``server.pem`` / ``server.key`` - a certificate for ``localhost``, ``127.0.0.1`` and
  ``::1`` signed by that CA, and its key.

``ensure_certificates(dir, dns_names=[...])`` also covers those names (say
``sts.us-east-1.amazonaws.com``, for a client that cannot be pointed at another host): its
certificate and key are ``server-<digest>.pem`` / ``.key``, the digest naming the set of
names, signed by the same CA, so one ``ca.pem`` serves every fake of a test run.

Existing files are reused, so several fakes can share one directory; creation holds a
lock on ``dir/.lock`` so that two fakes starting together agree on one set of files.
"""

import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile

FILES = ("ca.pem", "ca.key", "server.pem", "server.key")
_DEFAULT_NAMES = "DNS:localhost, IP:127.0.0.1, IP:::1"

_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {names}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args, cwd):
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _make_ca(work):
    _openssl("req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
             "-subj", "/CN=fake-appstream throwaway CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=work)


def _make_server(work, ca_pem, ca_key, names, stem):
    _openssl("req", "-new", *_EC, "-keyout", f"{stem}.key", "-out", f"{stem}.csr",
             "-subj", "/CN=localhost", cwd=work)
    (work / f"{stem}.ext").write_text(_SERVER_EXTENSIONS.format(names=names))
    _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", str(ca_pem), "-CAkey", str(ca_key),
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "825",
             "-extfile", f"{stem}.ext", "-out", f"{stem}.pem", cwd=work)


def _make(work):
    _make_ca(work)
    _make_server(work, work / "ca.pem", work / "ca.key", _DEFAULT_NAMES, "server")


def _extra_certificate(directory, dns_names):
    names = sorted(set(dns_names))
    for name in names:
        if not name or any(c in name for c in ", \n"):
            raise ValueError(f"not a DNS name: {name!r}")
    stem = "server-" + hashlib.sha1("\n".join(names).encode()).hexdigest()[:12]
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    if cert.exists() and key.exists():
        return cert, key
    if not (directory / "ca.key").exists():
        raise RuntimeError(f"{directory} holds a CA without its key (made by an older "
                           "version); remove the directory to start afresh")
    work = pathlib.Path(tempfile.mkdtemp(prefix=".tls-", dir=directory))
    try:
        extra = ", ".join(f"DNS:{n}" for n in names)
        _make_server(work, directory / "ca.pem", directory / "ca.key",
                     f"{_DEFAULT_NAMES}, {extra}", stem)
        os.replace(work / f"{stem}.key", key)
        os.replace(work / f"{stem}.pem", cert)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cert, key


def ensure_certificates(directory, dns_names=()):
    """Create the CA and server certificate in `directory` unless present; return
    (ca, certificate, key) paths. With `dns_names`, the certificate also covers them."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / name for name in FILES}
    with open(directory / ".lock", "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all(paths[n].exists() for n in ("ca.pem", "server.pem", "server.key")):
            work = pathlib.Path(tempfile.mkdtemp(prefix=".tls-", dir=directory))
            try:
                _make(work)
                for name in FILES:
                    os.replace(work / name, paths[name])
            finally:
                shutil.rmtree(work, ignore_errors=True)
        if dns_names:
            cert, key = _extra_certificate(directory, dns_names)
            return paths["ca.pem"], cert, key
    return paths["ca.pem"], paths["server.pem"], paths["server.key"]
