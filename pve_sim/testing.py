"""Test helpers: an HTTPS simulator in a thread for the length of a ``with`` block.

    from pve_sim.testing import running_simulator

    with running_simulator() as s:
        api = ProxmoxAPI(s.host, port=s.port, user=s.user, token_name=s.token_id,
                         token_value=s.token_secret, verify_ssl=s.ca_path)
        s.simulator.lock_guest(100, "backup", seconds=2)
        ...

The yielded object is a :class:`pve_sim.server.SimServer`: ``url``, ``api_url``, ``host``,
``port``, ``user``, ``token_id`` (token name), ``token_secret``, ``password``, ``ca_path``,
``env`` (the ``PROXMOX_*`` variables), ``state_dir`` and ``simulator`` (the
:class:`~pve_sim.simulator.Simulator` for fault injection and state checks).
"""

import contextlib
import shutil
import tempfile

from .server import SimServer


@contextlib.contextmanager
def running_simulator(state_dir=None, write_env=False, **kwargs):
    """Start the HTTPS simulator on 127.0.0.1, port 0 (a free port), in a temporary state dir
    (removed afterwards unless ``state_dir`` is given).  ``kwargs`` go to
    :class:`~pve_sim.simulator.Simulator` (``token_secret``, ``password``, ``version``,
    ``generic_auth_errors``) or :class:`~pve_sim.server.SimServer` (``verbose``)."""
    tmp = None
    if state_dir is None:
        tmp = state_dir = tempfile.mkdtemp(prefix="pve_sim-")
    server = SimServer(port=0, state_dir=state_dir, **kwargs)
    try:
        if write_env:
            server.write_env_files()
        server.start()
        yield server
    finally:
        server.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def proxmox_client(server, password_auth=False, timeout=10):
    """A proxmoxer ``ProxmoxAPI`` for a running simulator (token auth unless ``password_auth``)."""
    from proxmoxer import ProxmoxAPI

    if password_auth:
        return ProxmoxAPI(
            server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            verify_ssl=server.ca_path,
            timeout=timeout,
        )
    return ProxmoxAPI(
        server.host,
        port=server.port,
        user=server.user,
        token_name=server.token_id,
        token_value=server.token_secret,
        verify_ssl=server.ca_path,
        timeout=timeout,
    )
