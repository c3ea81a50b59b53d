"""Hot-plug rules: what a running guest applies now and what stays pending."""

from pve_sim.handlers.common import MAC_PREFIX


def changes(items):
    return [i for i in items if "pending" in i or "delete" in i]


def test_running_vm_cpu_and_memory_changes_stay_pending(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(memory="4096", cores=4, sockets=2, cpu="host", balloon=1024, name="web01-new")
    assert changes(vm.pending.get()) == [
        {"key": "cores", "value": 2, "pending": 4},
        {"key": "cpu", "value": "x86-64-v2-AES", "pending": "host"},
        {"key": "memory", "value": "2048", "pending": "4096"},
        {"key": "sockets", "value": 1, "pending": 2},
    ]
    current = vm.config.get(current=1)
    merged = vm.config.get()
    # name is fast-plugged; a balloon target change (ballooning stays enabled) is applied live
    assert (current["cores"], current["name"], current["balloon"]) == (2, "web01-new", 1024)
    assert (merged["cores"], merged["memory"]) == (4, "4096")


def test_running_vm_disabling_the_balloon_device_stays_pending(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(balloon=0)
    assert changes(vm.pending.get()) == [{"key": "balloon", "pending": 0}]


def test_running_vm_nic_change_is_hotplugged(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(net0="virtio=BC:24:11:00:01:00,bridge=vmbr1,tag=20,firewall=1")
    assert changes(vm.pending.get()) == []
    assert vm.config.get(current=1)["net0"] == "virtio=BC:24:11:00:01:00,bridge=vmbr1,firewall=1,tag=20"


def test_new_nic_gets_a_proxmox_mac(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(net1="e1000,bridge=vmbr0")
    net1 = vm.config.get()["net1"]
    model_mac, rest = net1.split(",", 1)
    model, mac = model_mac.split("=")
    assert (model, rest, mac[:8]) == ("e1000", "bridge=vmbr0", MAC_PREFIX)


def test_running_vm_disk_option_change_without_hotplug_support_stays_pending(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(scsi0="local-lvm:vm-100-disk-0,iothread=1,cache=writeback")
    assert changes(vm.pending.get()) == [
        {
            "key": "scsi0",
            "value": "local-lvm:vm-100-disk-0,iothread=1,size=32G",
            "pending": "local-lvm:vm-100-disk-0,cache=writeback,iothread=1,size=32G",
        }
    ]


def test_running_vm_delete_of_non_hotplug_option_is_a_pending_delete(sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(delete="numa")
    assert changes(vm.pending.get()) == [{"key": "numa", "value": 0, "delete": 1}]
    assert "numa" not in vm.config.get()
    assert vm.config.get(current=1)["numa"] == 0


def test_stopped_vm_applies_everything(sim_api):
    vm = sim_api.nodes("pve1").qemu(101)
    vm.config.put(memory="8192", cores=8, delete="numa")
    assert changes(vm.pending.get()) == []
    conf = vm.config.get(current=1)
    assert (conf["memory"], conf["cores"], "numa" in conf) == ("8192", 8, False)


def test_starting_a_vm_applies_its_pending_changes(sim, sim_api):
    vm = sim_api.nodes("pve1").qemu(100)
    vm.config.put(memory="3072")
    sim.simulator.set_guest_status(100, "stopped")
    sim.simulator.set_guest_status(100, "running")
    assert changes(vm.pending.get()) == []
    assert vm.config.get(current=1)["memory"] == "3072"


def test_running_container_hotplugs_memory_swap_cores_and_net(sim_api):
    ct = sim_api.nodes("pve1").lxc(200)
    ct.config.put(
        memory=1024,
        swap=256,
        cores=2,
        cpulimit="1.5",
        cpuunits=200,
        net0="name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=10.0.0.5/24,gw=10.0.0.1",
    )
    assert changes(ct.pending.get()) == []
    conf = ct.config.get(current=1)
    assert (conf["memory"], conf["swap"], conf["cores"], conf["cpulimit"], conf["cpuunits"]) == (
        1024,
        256,
        2,
        "1.5",
        200,
    )
    assert conf["net0"] == "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:02:00,ip=10.0.0.5/24,type=veth"


def test_running_container_non_hotplug_option_stays_pending(sim_api):
    ct = sim_api.nodes("pve1").lxc(200)
    ct.config.put(nameserver="1.1.1.1", delete="features")
    assert changes(ct.pending.get()) == [
        {"key": "features", "value": "nesting=1", "delete": 1},
        {"key": "nameserver", "pending": "1.1.1.1"},
    ]


def test_deleting_a_nic_removes_it_running_and_stopped(sim_api):
    running = sim_api.nodes("pve1").qemu(100)
    running.config.put(delete="net0")
    assert "net0" not in running.config.get(current=1)
    assert changes(running.pending.get()) == []
    stopped = sim_api.nodes("pve1").qemu(101)
    stopped.config.put(delete="net0")
    assert "net0" not in stopped.config.get(current=1)
    ct = sim_api.nodes("pve1").lxc(200)
    ct.config.put(delete="net0")
    assert "net0" not in ct.config.get(current=1)
