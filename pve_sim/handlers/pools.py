# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Resource pools: list, create, add/remove guests, read, delete.

pve-manager PVE/API2/Pool.pm (index, create_pool, update_pool, read_pool, delete_pool): the pools live in
user.cfg as ``pools: {poolid: {comment, vms}}`` plus the reverse index ``vms: {vmid: poolid}`` (a guest is in at
most one pool). The simulator's users hold every privilege, so every pool passes the ``Pool.Audit`` checks and
a guest's ``/cluster/resources`` row always carries its ``pool``. Storage members are not simulated.
Error texts: the handlers' ``die`` messages, prefixed as pve-access-control src/PVE/AccessControl.pm
lock_user_config does (``"<what> failed: <error>"``) for the handlers that lock user.cfg.
"""

from ..errors import HandlerError
from ..validation import parse_boolean, split_list
from . import route
from .cluster import vm_row


def _pool(state, poolid):
    pool = state.pools.get(poolid)
    if pool is None:
        raise HandlerError("pool '%s' does not exist" % poolid)  # Pool.pm: every handler's first check
    return pool


def _entry(poolid, pool):
    entry = {"poolid": poolid}
    if pool.get("comment") is not None:
        entry["comment"] = pool["comment"]
    return entry


def _members(state, pool, kind):
    """Pool.pm read_pool/index: the members' rows (extract_vm_stats), guests that no longer exist skipped."""
    rows = []
    for vmid in sorted(pool["vms"]):
        guest = state.guests.get(vmid)
        if guest is None or (kind and kind != guest.kind):
            continue
        rows.append(vm_row(state, guest))
    return rows


@route("GET", "/pools")
def index(ctx, params):
    state = ctx.state
    poolid = params.get("poolid")
    if poolid:
        pool = _pool(state, poolid)
        return [dict(_entry(poolid, pool), members=_members(state, pool, params.get("type")))]
    return [_entry(poolid, state.pools[poolid]) for poolid in sorted(state.pools)]


@route("GET", "/pools/{poolid}")
def read_pool(ctx, params):
    state = ctx.state
    pool = _pool(state, params["poolid"])
    out = {"members": _members(state, pool, params.get("type"))}
    if pool.get("comment") is not None:
        out["comment"] = pool["comment"]
    return out


@route("POST", "/pools")
def create_pool(ctx, params):
    state = ctx.state
    poolid = params["poolid"]
    with state.lock:
        if poolid in state.pools:
            raise HandlerError("create pool failed: pool '%s' already exists" % poolid)
        if "/" in poolid:
            parent, leaf = poolid.rsplit("/", 1)
            if parent not in state.pools:
                raise HandlerError("create pool failed: parent '%s' of pool '%s' does not exist" % (parent, poolid))
        else:
            leaf = poolid
        if not leaf[:1].isascii() or not leaf[:1].isalpha():
            raise HandlerError("create pool failed: pool name must start with a letter")
        state.pools[poolid] = {"comment": params.get("comment") or None, "vms": set()}
    return None


@route("PUT", "/pools")
def update_pool(ctx, params):
    """Pool.pm update_pool: members added (or removed with ``delete``), one at a time, as the Perl loop does:
    an error part-way keeps nothing (lock_user_config writes user.cfg only at the end)."""
    state = ctx.state
    poolid = params["poolid"]
    with state.lock:
        pool = _pool(state, poolid)
        vms = dict(state.pool_members())
        members = set(pool["vms"])
        moved = {}
        for text in split_list(params.get("vms") or ""):
            vmid = int(text)
            if parse_boolean(params.get("delete", 0)) == "1":
                if vmid not in members:
                    raise HandlerError("update pools failed: VM %d is not a pool member" % vmid)
                members.discard(vmid)
                vms.pop(vmid, None)
                continue
            if vmid in members:
                raise HandlerError("update pools failed: VM %d is already a pool member" % vmid)
            existing = vms.get(vmid)
            if existing is not None:
                if parse_boolean(params.get("allow-move", 0)) != "1":
                    raise HandlerError(
                        "update pools failed: VM %d belongs already to pool '%s' and 'allow-move' is not set"
                        % (vmid, existing)
                    )
                moved[vmid] = existing
            members.add(vmid)
            vms[vmid] = poolid
        if params.get("storage"):
            raise HandlerError("update pools failed: storage pool members are not simulated")
        for vmid, old in moved.items():
            state.pools[old]["vms"].discard(vmid)
        pool["vms"] = members
        if params.get("comment") is not None:
            pool["comment"] = params["comment"]
    return None


@route("DELETE", "/pools")
def delete_pool(ctx, params):
    state = ctx.state
    poolid = params["poolid"]
    with state.lock:
        pool = _pool(state, poolid)
        for sub in sorted(state.pools):
            if sub.startswith(poolid + "/"):
                raise HandlerError("delete pool failed: pool '%s' is not empty (contains pool '%s')" % (poolid, sub))
        for vmid in sorted(pool["vms"]):
            if vmid in state.guests:  # destroyed guests are ignored
                raise HandlerError("delete pool failed: pool '%s' is not empty (contains VM %d)" % (poolid, vmid))
        del state.pools[poolid]
    return None
