# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Storage: status list, one storage's status, content list, volume delete.

Follows pve-storage ``API2/Storage/Status.pm`` (``storage_info`` semantics: a ``content``
filter hides disabled storages and those without that content; ``storage=<id>`` that is not
in the result is ``400 No such storage.``) and ``API2/Storage/Content.pm``.
"""

from ..errors import HandlerError, ParamError
from ..validation import split_list
from . import route


def storage_info(state, node, content=None, include_format=False):
    ctypes = split_list(content) if content is not None else None
    info = {}
    for st in sorted(state.node_storages(node), key=lambda s: s.id):
        if ctypes is not None and (not any(c in st.content for c in ctypes) or not st.enabled):
            continue
        d = {
            "type": st.type,
            "total": 0,
            "avail": 0,
            "used": 0,
            "shared": 1 if st.shared else 0,
            "content": ",".join(st.content),
            "active": 0,
            "enabled": 1 if st.enabled else 0,
        }
        if st.enabled:
            if include_format:
                valid = ["qcow2", "raw", "vmdk"] if st.path_based else ["raw"]
                d["formats"] = {"supported": sorted(valid), "default": st.default_format()}
                d["format"] = [{f: 1 for f in valid}, st.default_format()]
            d.update(total=st.total, avail=st.avail, used=st.used, active=1)
        info[st.id] = d
    return info


@route("GET", "/nodes/{node}/storage")
def index(ctx, params):
    info = storage_info(ctx.state, params["node"], params.get("content"), params.get("format") == "1")
    if params.get("storage") and params["storage"] not in info:
        raise ParamError({"storage": "No such storage."})
    out = []
    for sid, data in info.items():
        if params.get("storage") and params["storage"] != sid:
            continue
        if params.get("enabled") == "1" and not data["enabled"]:
            continue
        if data["total"]:
            data["used_fraction"] = data["used"] / data["total"]
        out.append(dict(data, storage=sid))
    return out


@route("GET", "/nodes/{node}/storage/{storage}/status")
def read_status(ctx, params):
    info = storage_info(ctx.state, params["node"])
    data = info.get(params["storage"])
    if data is None:
        raise ParamError({"storage": "No such storage."})
    return data


@route("GET", "/nodes/{node}/storage/{storage}/content")
def content_index(ctx, params):
    state, node, sid = ctx.state, params["node"], params["storage"]
    st = state.check_enabled(node, sid)  # does not exist / is disabled / not available on node
    out = []
    for vol in sorted(st.volumes.values(), key=lambda v: v.volid):
        if params.get("content") and vol.content != params["content"]:
            continue
        if params.get("vmid") and vol.vmid != int(params["vmid"]):
            continue
        item = {"volid": vol.volid, "format": vol.format, "size": vol.size, "content": vol.content, "ctime": vol.ctime}
        if vol.vmid is not None:
            item["vmid"] = vol.vmid
        if vol.content in ("images", "rootdir"):
            item["used"] = vol.size // 4
        out.append(item)
    return out


@route("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}")
def delete_volume(ctx, params):
    state, node = ctx.state, params["node"]
    storeid, volume = params.get("storage"), params["volume"]
    if ":" in volume:
        sid = volume.split(":", 1)[0]
        if storeid and sid != storeid:
            raise ParamError({"volume": "storage ID mismatch (%s != %s)\n" % (sid, storeid)})
        volid, storeid = volume, sid
    else:
        if not storeid:
            raise ParamError({"volume": "no storage specified"})
        volid = "%s:%s" % (storeid, volume)
    st = state.storage_config(node, storeid)
    if st is not None and st.type in ("lvmthin", "lvm") and state.volume_owner(volid) is None:
        raise HandlerError("unable to parse lvm volume name '%s'" % volid.split(":", 1)[1])
    owner = state.volume_owner(volid)
    vol = state.find_volume(node, volid)
    if owner is None and vol is not None:
        owner = vol.vmid

    def worker(task):
        state.free_volume(node, volid)
        return ["Removed volume '%s'" % volid]

    task_id = ("%s@%s" % (owner, storeid)) if owner is not None else storeid
    duration = state.faults.slow_free.get(storeid, 0.0)  # the slow_free fault: vdisk_free takes that long
    return state.new_task(node, "imgdel", task_id, ctx.user, action=worker, vmids=(), duration=duration).upid
