# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Version, nodes, node status, cluster resources, next free VMID, ticket login."""

from ..errors import ParamError
from . import route
from .lxc import ct_stats
from .qemu import vm_stats


@route("GET", "/version")
def version(ctx, params):
    v = ctx.sim.version
    return {"version": v["version"], "release": v["release"], "repoid": v["repoid"]}


@route("GET", "/nodes")
def nodes(ctx, params):
    state = ctx.state
    out = []
    for name in sorted(state.nodes):
        n = state.nodes[name]
        out.append(
            {
                "node": name,
                "status": "online" if n.online else "offline",
                "id": "node/%s" % name,
                "type": "node",
                "cpu": 0.031,
                "maxcpu": n.maxcpu,
                "mem": n.maxmem // 5,
                "maxmem": n.maxmem,
                "disk": n.maxdisk // 10,
                "maxdisk": n.maxdisk,
                "uptime": int(state.now() - state._boot),
                "level": "",
                "ssl_fingerprint": ":".join(["5A"] * 32),
            }
        )
    return out


@route("GET", "/nodes/{node}/status")
def node_status(ctx, params):
    state = ctx.state
    n = state.nodes[params["node"]]
    v = ctx.sim.version
    return {
        "uptime": int(state.now() - state._boot),
        "cpu": 0.031,
        "wait": 0.0012,
        "idle": 0,
        "loadavg": ["0.21", "0.18", "0.15"],
        "cpuinfo": {
            "cpus": n.maxcpu,
            "cores": n.maxcpu // 2,
            "sockets": 1,
            "model": "Simulated CPU @ 3.00GHz",
            "mhz": "3000.000",
            "hvm": "1",
            "user_hz": 100,
            "flags": "fpu vme de pse tsc msr pae",
        },
        "memory": {
            "total": n.maxmem,
            "used": n.maxmem // 5,
            "free": n.maxmem - n.maxmem // 5,
            "available": n.maxmem - n.maxmem // 5,
        },
        "swap": {"total": 8 * 1024**3, "used": 0, "free": 8 * 1024**3},
        "rootfs": {
            "total": n.maxdisk,
            "used": n.maxdisk // 10,
            "free": n.maxdisk - n.maxdisk // 10,
            "avail": n.maxdisk - n.maxdisk // 10,
        },
        "ksm": {"shared": 0},
        "pveversion": "pve-manager/%s/%s" % (v["version"], v["repoid"]),
        "kversion": "Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)",
        "current-kernel": {
            "sysname": "Linux",
            "release": "6.14.11-4-pve",
            "machine": "x86_64",
            "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)",
        },
        "boot-info": {"mode": "efi", "secureboot": 0},
    }


def _as_pvestatd_saw_it(state, entry):
    """Realism: name and status (and the other runtime stats) of a guest come from pvestatd's RRD data
    (pve-manager PVE/API2/Cluster.pm resources -> PVE/API2Tools.pm extract_vm_stats): stale until the next
    pvestatd round (:meth:`State.pvestatd_tick`), and for a guest pvestatd has not seen yet only
    ``id, vmid, node, type`` with ``status: unknown`` (lock and tags still come from the config)."""
    seen = state.rrd.get(entry["vmid"])
    if seen is None:
        return {k: entry[k] for k in ("id", "vmid", "node", "type")} | {"status": "unknown"}
    return dict(entry, name=seen["name"], status=seen["status"])


def vm_row(state, g):
    """A guest's row as pve-manager PVE/API2Tools.pm extract_vm_stats makes it (also Pool.pm's members)."""
    stats = vm_stats(state, g) if g.kind == "qemu" else ct_stats(state, g)
    entry = {
        "id": "%s/%d" % (g.kind, g.vmid),
        "vmid": g.vmid,
        "node": g.node,
        "type": g.kind,
        "status": g.status,
        "name": g.name,
        "uptime": stats["uptime"],
        "template": 1 if stats.get("template") else 0,
        "maxcpu": stats["cpus"],
        "cpu": stats["cpu"],
        "maxmem": stats["maxmem"],
        "mem": stats["mem"],
        "maxdisk": stats["maxdisk"],
        "disk": stats["disk"],
        "netin": stats["netin"],
        "netout": stats["netout"],
        "diskread": stats["diskread"],
        "diskwrite": stats["diskwrite"],
    }
    if g.kind == "qemu":
        entry["memhost"] = stats["memhost"]
    if state.realism:
        entry = _as_pvestatd_saw_it(state, entry)
    return entry


@route("GET", "/cluster/resources")
def resources(ctx, params):
    state = ctx.state
    rtype = params.get("type")
    res = []
    if not rtype:
        # pve-manager PVE/API2/Cluster.pm resources: one row per pool (Pool.Audit, which every simulated user has);
        # its `type` enum (vm, storage, node, sdn) has no 'pool', so only the unfiltered answer holds them
        res.extend({"id": "/pool/%s" % pool, "pool": pool, "type": "pool"} for pool in sorted(state.pools))
    if not rtype or rtype == "vm":
        pools = state.pool_members()
        for vmid in sorted(state.guests, key=str):
            g = state.guests[vmid]
            entry = vm_row(state, g)
            if vmid in pools:  # Cluster.pm resources: $usercfg->{vms}->{$vmid}
                entry["pool"] = pools[vmid]
            if g.lock:
                entry["lock"] = g.lock
            if g.config.get("tags") is not None:
                entry["tags"] = g.config["tags"]
            res.append(entry)
    if not rtype or rtype == "node":
        for node in nodes(ctx, {}):
            res.append(
                {
                    k: node[k]
                    for k in (
                        "id",
                        "node",
                        "type",
                        "status",
                        "uptime",
                        "cpu",
                        "mem",
                        "disk",
                        "level",
                        "maxcpu",
                        "maxmem",
                        "maxdisk",
                    )
                }
                | {"cgroup-mode": 2}
            )
    if not rtype or rtype == "storage":
        for sid in sorted({sid for (_node, sid) in state.storages}):
            for node in sorted(state.nodes):
                st = state.storage(node, sid)
                if st is None or not st.enabled:
                    continue
                res.append(
                    {
                        "id": "storage/%s/%s" % (node, sid),
                        "storage": sid,
                        "node": node,
                        "type": "storage",
                        "plugintype": st.type,
                        "status": "available",
                        "shared": 1 if st.shared else 0,
                        "content": ",".join(st.content),
                        "maxdisk": st.total,
                        "disk": st.used,
                    }
                )
    if not rtype:
        for node in sorted(state.nodes):
            res.append(
                {
                    "id": "network/%s/zone/localnetwork" % node,
                    "type": "network",
                    "network-type": "zone",
                    "network": "localnetwork",
                    "node": node,
                    "status": "ok",
                }
            )
    return res


@route("GET", "/cluster/nextid")
def nextid(ctx, params):
    ids = ctx.state.guests
    if params.get("vmid"):
        vmid = params["vmid"]
        if int(vmid) not in ids:
            return str(vmid)
        raise ParamError({"vmid": "VM %s already exists" % vmid})
    for i in range(100, 1000 * 1000):
        if i not in ids:
            return str(i)  # a string on the wire, like pve-manager's (the value was used as a hash key)
    return None


@route("GET", "/access/ticket")
def get_ticket(ctx, params):
    return None


@route("POST", "/access/ticket")
def create_ticket(ctx, params):
    auth = ctx.sim.auth
    username = auth.login(params["username"], params.get("password"), params.get("realm"))
    return {
        "username": username,
        "ticket": auth.make_ticket(username),
        "CSRFPreventionToken": auth.make_csrf(username),
        "clustername": "pve-sim",
        "cap": {
            "vms": {
                "VM.Config.Disk": 1,
                "VM.Config.CPU": 1,
                "VM.Config.Memory": 1,
                "VM.Config.Network": 1,
                "VM.Config.Options": 1,
                "VM.Audit": 1,
            },
            "storage": {"Datastore.Allocate": 1, "Datastore.AllocateSpace": 1, "Datastore.Audit": 1},
            "nodes": {"Sys.Audit": 1},
            "access": {},
            "dc": {},
            "sdn": {},
            "mapping": {},
        },
    }
