"""The simulator (``pve_sim``) with extra benchmark VMs: ``python -m pve_sim`` plus ``--vms N``.

    .venv/bin/python benchmarks/_sim_server.py --state-dir DIR --vms 200 [--first-vmid 1000]

Serves on 127.0.0.1 (a free port), writes DIR/env.sh and DIR/env.json like ``python -m pve_sim``, and runs
until SIGTERM/SIGINT. The extra VMs are copies of the seeded VM 101 (stopped, 2048 MiB, 2 cores, one 2 GiB
scsi0 on local-lvm, net0 with its own MAC), alternating between the nodes pve1 and pve2, named ``bench<vmid>``
and tagged ``bench`` (so an inventory or a ``fleet_config`` selection can pick exactly them).
``POST /_sim/reset`` reseeds the standard inventory and adds them again. The request log keeps at least 100
entries per VM (the simulator's default limit, 10 000, would cut a 1000-guest benchmark's count short).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pve_sim.simulator  # noqa: E402
from pve_sim.seed import CTIME, NODES, QEMU  # noqa: E402
from pve_sim.server import SimServer  # noqa: E402
from pve_sim.state import GiB, Guest, Volume  # noqa: E402


def add_vms(sim, count: int, first_vmid: int) -> list[int]:
    """Add ``count`` stopped VMs (copies of VM 101) to the simulator's state; returns their VMIDs."""
    base = dict(QEMU[101][2])
    vmids = []
    with sim.state.lock:
        for i in range(count):
            vmid = first_vmid + i
            node = NODES[i % len(NODES)]
            volid = f"local-lvm:vm-{vmid}-disk-0"
            config = dict(base)
            config.pop("scsi1", None)
            config.update(
                name=f"bench{vmid}",
                tags="bench",
                memory="2048",
                cores="2",
                scsi0=f"{volid},iothread=1,size=2G",
                net0=f"virtio=BC:24:11:{vmid >> 8 & 0xFF:02X}:{vmid & 0xFF:02X}:{i % 256:02X},bridge=vmbr0,firewall=1",
                smbios1=f"uuid=5d0c8f4e-7a8b-4c1d-9e2f-{vmid:012d}",
                vmgenid=f"8a1b2c3d-4e5f-4a6b-8c7d-{vmid:012d}",
            )
            sim.state.guests[vmid] = Guest(vmid=vmid, kind="qemu", node=node, status="stopped", config=config)
            sim.state.storages[(node, "local-lvm")].volumes[volid] = Volume(
                volid=volid,
                name=volid.split(":", 1)[1],
                size=2 * GiB,
                format="raw",
                content="images",
                vmid=vmid,
                ctime=CTIME,
            )
            vmids.append(vmid)
    return vmids


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--vms", type=int, default=0, help="extra VMs to add")
    ap.add_argument("--first-vmid", type=int, default=1000)
    args = ap.parse_args(argv)

    pve_sim.simulator.REQUEST_LOG_LIMIT = max(pve_sim.simulator.REQUEST_LOG_LIMIT, 100 * args.vms)
    server = SimServer(host="127.0.0.1", port=0, state_dir=args.state_dir)
    sim = server.simulator
    add_vms(sim, args.vms, args.first_vmid)
    reseed = sim.reset

    def reset(**kwargs) -> None:  # the control API passes realism=...
        reseed(**kwargs)
        add_vms(sim, args.vms, args.first_vmid)

    sim.reset = reset
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    server.write_env_files()
    print(f"pve_sim (+{args.vms} VMs from {args.first_vmid}) listening on {server.url}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
