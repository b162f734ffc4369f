"""Command line: ``PYTHONPATH=tests /usr/bin/python3 -m fake_appstream [options]``.

Prints exactly one line, ``LISTENING <base-url>``, once the socket accepts connections,
and serves until SIGTERM or SIGINT. Run with ``--help`` for the options.
"""

import argparse
import json
import signal
import ssl
import sys
import threading

from . import DEFAULT_ACCESS_KEY_ID, DEFAULT_OLD_VERSION, DEFAULT_SECRET_ACCESS_KEY
from .config import DEFAULTS, ERROR_FORMATS
from .server import FakeServer
from .state import FakeState
from .tls import ensure_certificates


def _parser():
    p = argparse.ArgumentParser(prog="fake_appstream",
                                description="A fake Amazon AppStream 2.0 API for tests.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    p.add_argument("--tls-dir", metavar="DIR",
                   help="serve HTTPS with a throwaway CA in DIR (made if missing; DIR/ca.pem)")
    p.add_argument("--region", default=DEFAULTS["region"], help="the default estate's region")
    p.add_argument("--account-id", default=DEFAULTS["account_id"],
                   help="the default estate's account (in its ARNs), that of the credentials")
    p.add_argument("--access-key", default=DEFAULT_ACCESS_KEY_ID)
    p.add_argument("--secret-key", default=DEFAULT_SECRET_ACCESS_KEY)
    p.add_argument("--session-token", help="require this session token with the key")
    p.add_argument("--builders", type=int, default=0, metavar="N",
                   help="seed N builders (prefix01, prefix02, ...)")
    p.add_argument("--name-prefix", default="builder-")
    p.add_argument("--old-version", default=DEFAULT_OLD_VERSION,
                   help="agent version of the seeded builders")
    p.add_argument("--builder-state", default="RUNNING", help="state of the seeded builders")
    p.add_argument("--latest-version", default=DEFAULTS["latest_version"])
    p.add_argument("--page-size", type=int, default=DEFAULTS["page_size"])
    p.add_argument("--stopping-duration", type=float,
                   default=DEFAULTS["durations"]["stopping"], metavar="SECONDS")
    p.add_argument("--pending-duration", type=float,
                   default=DEFAULTS["durations"]["pending"], metavar="SECONDS")
    p.add_argument("--updating-duration", type=float,
                   default=DEFAULTS["durations"]["updating_agent"], metavar="SECONDS")
    p.add_argument("--manual-clock", action="store_true",
                   help="simulation time moves only through POST /_fake/clock")
    p.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS",
                   help="the server's wall clock runs this far ahead (negative: behind)")
    p.add_argument("--error-format", choices=ERROR_FORMATS, default=DEFAULTS["error_format"])
    p.add_argument("--omit-latest-flag", action="store_true",
                   help="never send LatestAppstreamAgentVersion")
    p.add_argument("--image-estate", action="store_true",
                   help="seed a small estate of private images and AppStream fleets (some on "
                        "old agents, one stopped, one on a public image); the first seeded "
                        "builders are made from some of the images")
    p.add_argument("--builders-file", metavar="PATH",
                   help="a JSON list of builder specs (as POST /_fake/builders takes them) in "
                        "the default estate before the port opens: a fake that replaces "
                        "another on its port is never seen empty")
    p.add_argument("--seed", type=int, help="seed for probabilistic faults")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def _state(args):
    settings = {
        "region": args.region,
        "account_id": args.account_id,
        "latest_version": args.latest_version,
        "page_size": args.page_size,
        "durations": {"stopping": args.stopping_duration, "pending": args.pending_duration,
                      "updating_agent": args.updating_duration},
        "manual_clock": args.manual_clock,
        "clock_offset": args.clock_offset,
        "error_format": args.error_format,
        "omit_latest_flag": args.omit_latest_flag,
        "seed": args.seed,
    }
    credentials = [{"access_key_id": args.access_key, "secret_access_key": args.secret_key,
                    "session_token": args.session_token}]
    seed_fleet = None
    if args.builders:
        seed_fleet = {"count": args.builders, "prefix": args.name_prefix,
                      "version": args.old_version, "state": args.builder_state}
    state = FakeState(settings, credentials, seed_fleet, seed_estate=args.image_estate)
    if args.builders_file:
        with open(args.builders_file, encoding="utf-8") as f:
            for spec in json.load(f):
                state.default.fleet.put(spec)
    return state


def _ssl_context(tls_dir):
    _, cert, key = ensure_certificates(tls_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        state = _state(args)
        context = _ssl_context(args.tls_dir) if args.tls_dir else None
        server = FakeServer((args.host, args.port), state, context, args.verbose)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"fake_appstream: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    print(f"LISTENING {server.url}", flush=True)
    while not stop.wait(1.0):
        pass
    state.stopping.set()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
