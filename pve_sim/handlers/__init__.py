"""API handlers, one module per area.  Each handler is registered with :func:`route` and
called as ``handler(ctx, params)`` after authentication, routing and parameter
verification; it returns the ``data`` of the answer or raises an :mod:`pve_sim.errors` type.
"""

ROUTES = []


def route(method, template):
    def deco(func):
        ROUTES.append((method, template, func))
        return func

    return deco


def load_all():
    """Import the handler modules (they register their routes on import)."""
    from . import cloudinit, cluster, lxc, pools, power, qemu, storage, tasks  # noqa: F401

    return ROUTES
