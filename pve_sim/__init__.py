"""pve_sim: a stateful Proxmox VE API simulator (PVE 9.1 schema) for tests and benchmarks.

Entry points:

* :class:`pve_sim.simulator.Simulator` - the in-memory API (``handle_http``) and its Python
  controls (faults, request log, state dump);
* :func:`pve_sim.server.start_server` / ``python -m pve_sim`` - HTTPS on loopback with a
  generated CA;
* :func:`pve_sim.testing.running_simulator` - context manager for tests;
* :mod:`pve_sim.responses_adapter` - install into a ``responses.RequestsMock``;
* :mod:`pve_sim.pytest_plugin` - ``pve_sim_server`` and ``sim`` fixtures.

See docs/simulator.md.
"""

from .simulator import HttpResponse, Simulator

__all__ = ["Simulator", "HttpResponse"]
__version__ = "1.0.0"
