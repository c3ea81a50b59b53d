# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""Memory hot-plug of a running VM in DIMMs (realism), as qemu-server src/PVE/QemuServer/Memory.pm does it.

A VM with ``memory`` in ``hotplug`` starts with ``$STATICMEM`` (1024 MiB) and pc-dimm modules on top
(``foreach_dimm``: 32 DIMMs of 512 MiB, then 32 of 1 GiB, doubling every 32; 1 GiB steps with 1 GiB
hugepages).  ``qemu_memory_hotplug`` plugs DIMMs until the new size is reached or passed, writing the
config after each one, and unplugs from the last DIMM down until the size is at or below the new
value.  So the stored ``memory`` is DIMM-aligned, not what was asked.  Such a VM cannot run without NUMA
(``Memory.pm config``: "NUMA needs to be enabled for memory hotplug").
"""

import re

from .errors import HandlerError

STATICMEM = 1024  # Memory.pm my $STATICMEM
HOST_PHYS_BITS = 46  # the simulated host's physical address bits (Helpers::get_host_phys_address_bits)


def current_memory(value):
    """``get_current_memory``: MiB from ``memory`` (``[current=]<int>``), default 512."""
    if not value:
        return 512
    m = re.match(r"^(?:current=)?(\d+)", value)
    return int(m.group(1)) if m else 512


def _dimm_sizes(conf):
    """``foreach_dimm``: the size of every DIMM in plug order."""
    size = 1024 if conf.get("hugepages") == "1024" else 512
    for _round in range(8):
        for _dimm in range(32):
            yield size
        size *= 2


def max_mem(conf):
    """``get_max_mem``: from the CPU's phys-bits, the host's bits for host/max, else at most 40 bits."""
    cpu = conf.get("cpu") or ""
    cputype = cpu.split(",")[0].removeprefix("cputype=")
    m = re.search(r"(?:^|,)phys-bits=(\d+)(?:,|$)", cpu)
    if m:
        bits = int(m.group(1))
    elif cputype in ("host", "max"):
        bits = HOST_PHYS_BITS
    else:
        bits = min(HOST_PHYS_BITS, 40)
    bits &= ~1
    return min(1 << (bits - 21), 4 * 1024 * 1024)


def hotplug_memory(conf, value):
    """``qemu_memory_hotplug`` for a running VM: the ``memory`` value the config ends with (DIMM-aligned),
    or :class:`HandlerError` (``conf`` is the current config; its ``memory`` is updated DIMM by DIMM, as
    the source writes the config after each module)."""
    if conf.get("numa") != "1":
        raise HandlerError("NUMA needs to be enabled for memory hotplug")
    old, new = current_memory(conf.get("memory")), current_memory(value)
    if new == old:
        return value
    static = STATICMEM * (int(conf.get("sockets") or 1) if conf.get("hugepages") == "1024" else 1)
    if new < static:
        # die without "\n": Perl appends where it died (Memory.pm line 219 at the fetched commit)
        raise HandlerError(
            "memory can't be lower than %d MB at /usr/share/perl5/PVE/QemuServer/Memory.pm line 219." % static
        )
    limit = max_mem(conf)
    if new > limit:
        raise HandlerError("you cannot add more memory than max mem %d MB!" % limit)
    plugged, size = [], static
    for dimm in _dimm_sizes(conf):
        if size >= max(old, new):
            break
        size += dimm
        plugged.append((size, dimm))
    if new > old:
        for total, _dimm in plugged:
            if total > old:
                conf["memory"] = str(total)
                if total >= new:
                    break
    else:
        current = old
        for total, dimm in reversed([p for p in plugged if p[0] <= old]):
            if current <= new:
                break
            current = total - dimm
            conf["memory"] = str(current)
    return conf["memory"]
