# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""``python -m pve_sim``: run the HTTPS simulator until SIGTERM/SIGINT.

Prints the URL, the token id and secret, the root@pam password and the CA path, and writes
``<state-dir>/env.sh`` (``source`` it) and ``<state-dir>/env.json`` with the ``PROXMOX_*``
variables the collection's modules read.
"""

import argparse
import os
import signal
import sys
import threading

from .server import SimServer


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pve_sim", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port, 0 picks a free one (default 0)")
    parser.add_argument("--state-dir", default=".sim", help="certificates and env files (default .sim)")
    parser.add_argument(
        "--token-secret",
        default=os.environ.get("PVE_SIM_TOKEN_SECRET"),
        help="secret of root@pam!pve-config (default: $PVE_SIM_TOKEN_SECRET or random)",
    )
    parser.add_argument(
        "--password",
        default=os.environ.get("PVE_SIM_PASSWORD"),
        help="root@pam password (default: $PVE_SIM_PASSWORD or random)",
    )
    parser.add_argument(
        "--generic-auth-errors",
        action="store_true",
        help="401 reason 'Authentication failed!' like pve-manager >= 9.1.5",
    )
    parser.add_argument(
        "--realism",
        action="store_true",
        default=os.environ.get("PVE_SIM_REALISM", "") not in ("", "0"),
        help="behave like the Proxmox sources where they differ from the ideal case "
        "(default: on if $PVE_SIM_REALISM is set and not 0)",
    )
    parser.add_argument(
        "--no-realism", dest="realism", action="store_false", help="the ideal case (overrides $PVE_SIM_REALISM)"
    )
    parser.add_argument(
        "--pvestatd-interval",
        type=float,
        default=10.0,
        help="with realism, seconds between pvestatd rounds that update /cluster/resources "
        "(default 10, as pvestatd; 0: only POST /_sim/pvestatd/tick)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    try:
        server = SimServer(
            host=args.host,
            port=args.port,
            state_dir=args.state_dir,
            verbose=args.verbose,
            token_secret=args.token_secret,
            password=args.password,
            generic_auth_errors=args.generic_auth_errors,
            realism=args.realism,
            pvestatd_interval=args.pvestatd_interval or None,
        )
    except (ValueError, OSError) as exc:
        print("pve_sim: %s" % exc, file=sys.stderr)
        return 2
    sh_path, json_path = server.write_env_files()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print("pve_sim listening on %s" % server.url)
    print("  API:          %s" % server.api_url)
    print("  token id:     %s (PROXMOX_TOKEN_ID=%s)" % (server.simulator.full_token_id, server.token_id))
    print("  token secret: %s" % server.token_secret)
    print("  password:     %s (root@pam)" % server.password)
    print("  CA:           %s" % server.ca_path)
    print("  env:          source %s  (JSON: %s)" % (sh_path, json_path))
    print("  control:      %s/_sim/state" % server.url)
    print("  realism:      %s" % ("on" if server.simulator.realism else "off"))
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.stop()
    print("pve_sim stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
