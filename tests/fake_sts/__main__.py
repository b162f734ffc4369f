"""Command line: ``PYTHONPATH=tests /usr/bin/python3 -m fake_sts [options]``.

Prints exactly one line, ``LISTENING <base-url>``, once the socket accepts connections,
and serves until SIGTERM or SIGINT. Run with ``--help`` for the options.

``--isolate`` (root only) is for clients that cannot be given an endpoint, such as
Debian's AWS CLI 2.9, which predates ``AWS_ENDPOINT_URL_STS``. After binding its usual
listener (which then serves the control API and the API to the test, on the machine's
loopback), the fake moves into a new network and mount namespace of its own: there it
brings ``lo`` up, makes every mount private, bind-mounts over ``/etc/hosts`` a file that
resolves each ``--hostname`` to 127.0.0.1, and serves the API on 127.0.0.1:``--api-port``
(443) with a certificate for those names from the same CA. Nothing on the machine changes
and nothing in the namespace reaches any network; clients run inside it with
``nsenter --target <pid> --net --mount``, and the namespace ends with the fake.
"""

import argparse
import ctypes
import os
import pathlib
import signal
import ssl
import subprocess
import sys
import threading

from fake_appstream.tls import ensure_certificates

from . import (AWS_HOSTNAMES, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCOUNT_ID,
               DEFAULT_SECRET_ACCESS_KEY)
from .config import DEFAULTS
from .server import FakeServer
from .state import FakeState

_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000


def _parser():
    p = argparse.ArgumentParser(prog="fake_sts",
                                description="A fake AWS STS, SSO portal and SSO OIDC for tests.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    p.add_argument("--tls-dir", metavar="DIR",
                   help="serve HTTPS with a throwaway CA in DIR (made if missing; DIR/ca.pem)")
    p.add_argument("--region", default=DEFAULTS["region"])
    p.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID,
                   help="account of the default user")
    p.add_argument("--access-key", default=DEFAULT_ACCESS_KEY_ID,
                   help="access key id of the default long-term user")
    p.add_argument("--secret-key", default=DEFAULT_SECRET_ACCESS_KEY)
    p.add_argument("--user-name", default="reconciler", help="name of the default user")
    p.add_argument("--appstream-control", metavar="URL",
                   help="add every issued credential to this fake AppStream's accepted ones")
    p.add_argument("--appstream-ca", metavar="FILE", help="CA of --appstream-control")
    p.add_argument("--issue-duration", type=float, metavar="SECONDS",
                   help="lifetime of every issued credential, whatever was asked")
    p.add_argument("--manual-clock", action="store_true",
                   help="the wall clock moves only through POST /_fake/clock")
    p.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS",
                   help="the fake's wall clock runs this far ahead (negative: behind)")
    p.add_argument("--seed", type=int, help="seed for faults and issued secrets")
    p.add_argument("--isolate", action="store_true",
                   help="also serve the API in a private network and mount namespace, "
                        "under --hostname names (root only)")
    p.add_argument("--hostname", action="append", metavar="NAME",
                   help=f"a name to serve with --isolate (default: {', '.join(AWS_HOSTNAMES)})")
    p.add_argument("--api-port", type=int, default=443,
                   help="port of the API inside the namespace (443)")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def _state(args):
    settings = {
        "region": args.region,
        "account_id": args.account_id,
        "appstream_control": args.appstream_control,
        "appstream_ca": args.appstream_ca,
        "issue_duration": args.issue_duration,
        "manual_clock": args.manual_clock,
        "clock_offset": args.clock_offset,
        "seed": args.seed,
    }
    users = [{"access_key_id": args.access_key, "secret_access_key": args.secret_key,
              "arn": f"arn:aws:iam::{args.account_id}:user/{args.user_name}"}]
    return FakeState(settings, users)


def _ssl_context(tls_dir, names):
    _, cert, key = ensure_certificates(tls_dir, names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _run(*command):
    subprocess.run(command, check=True, timeout=30, capture_output=True)


def _enter_namespace(names, workdir):
    """Move this (still single-threaded) process into new network and mount namespaces
    where `names` resolve to loopback."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET | _CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare(CLONE_NEWNET|CLONE_NEWNS): {os.strerror(errno)} "
                             "(--isolate needs root)")
    # Before any mount: nothing done here may propagate back to the machine's namespace.
    _run("mount", "--make-rprivate", "/")
    _run("ip", "link", "set", "lo", "up")
    hosts = pathlib.Path(workdir) / f"hosts.{os.getpid()}"
    hosts.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"
                     + "".join(f"127.0.0.1\t{name}\n" for name in names))
    _run("mount", "--bind", str(hosts), "/etc/hosts")
    return hosts


def main(argv=None):
    args = _parser().parse_args(argv)
    names = args.hostname or list(AWS_HOSTNAMES)
    servers, hosts = [], None
    try:
        state = _state(args)
        context = None
        if args.tls_dir:
            context = _ssl_context(args.tls_dir, names if args.isolate else ())
        elif args.isolate:
            raise ValueError("--isolate needs --tls-dir: clients reach the names over HTTPS")
        servers.append(FakeServer((args.host, args.port), state, context, args.verbose))
        if args.isolate:
            hosts = _enter_namespace(names, args.tls_dir)
            servers.append(FakeServer(("127.0.0.1", args.api_port), state, context,
                                      args.verbose))
    except (ValueError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"fake_sts: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
    print(f"LISTENING {servers[0].url}", flush=True)
    while not stop.wait(1.0):
        pass
    state.stopping.set()
    for server in servers:
        server.shutdown()
        server.server_close()
    if hosts is not None:
        hosts.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
