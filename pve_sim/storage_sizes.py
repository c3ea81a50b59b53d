# ruff: noqa: UP031 - printf-style messages mirror the Perl sources they copy
"""How big a volume really gets on each storage type (realism): the plugins round the size asked for.

qemu-server and pve-container ask ``vdisk_alloc`` for KiB (``$size`` of ``alloc_image``) and
``volume_resize`` for bytes; the config's ``size=`` records what was *asked* (API2/Qemu.pm
``$create_disks``: ``$disk->{size} = convert_size($size, 'kb' => 'b')``; resize_vm:
``$drive->{size} = $newsize``), while the volume on the storage is what the plugin made of it.
``resize`` later compares with the volume's actual size (``volume_size_info``), not with ``size=``.

Without realism every storage allocates exactly what was asked.
"""

KiB = 1024
MiB = 1024**2
LVM_EXTENT = 4 * MiB  # vgcreate's default physical extent size (the PVE installer keeps it)


def _round_up(value, step):
    return -(-int(value) // step) * step


def allocated_bytes(storage_type, fmt, size_kb):
    """Bytes the storage plugin allocates for ``alloc_image(..., $size)`` (``size_kb`` KiB)."""
    size_kb = int(size_kb)
    if storage_type == "zfspool" and fmt == "raw":
        # pve-storage src/PVE/Storage/ZFSPoolPlugin.pm zfs_create_zvol: "always align size to 1M"
        # ($padding = (1024 - $size % 1024) % 1024; zfs create -V "${size}k"); subvols take a refquota
        return _round_up(size_kb, 1024) * KiB
    if storage_type == "rbd":
        # pve-storage src/PVE/Storage/RBDPlugin.pm alloc_image: rbd create --size int(($size + 1023) / 1024) (MiB)
        return _round_up(size_kb, 1024) * KiB
    if storage_type == "lvm":
        # pve-storage src/PVE/Storage/LVMPlugin.pm alloc_lvm_image -> lvcreate --size "${size}k": LVM itself
        # rounds up to whole physical extents ("Rounding up size to full physical extent")
        return _round_up(size_kb * KiB, LVM_EXTENT)
    return size_kb * KiB


def resized_bytes(storage_type, fmt, size, running_vm=False):
    """Bytes the volume has after ``volume_resize(..., $size, $running)`` (``size`` in bytes)."""
    size = int(size)
    if storage_type == "rbd" and running_vm:
        # RBDPlugin.pm volume_resize: "return 1 if $running && !$scfg->{krbd}" - QEMU resizes the image through
        # librbd instead, to the size qemu-server QemuServer/Blockdev.pm resize pads to whole KiB (block_resize)
        return _round_up(size, KiB)
    if storage_type == "zfspool" and fmt == "raw":
        # ZFSPoolPlugin.pm volume_resize: $new_size = int($size / 1024), padded to 1M ("align size to 1M so we
        # always have a valid multiple of the volume block size"), zfs set volsize=${new_size}k
        return _round_up(size // KiB, 1024) * KiB
    if storage_type == "rbd":
        # RBDPlugin.pm volume_resize: rbd resize --size int(ceil($size / 1024 / 1024)) (MiB)
        return _round_up(size, MiB)
    if storage_type == "lvm":
        # LVMPlugin.pm volume_resize: lvextend -L "${size/1024}k", rounded up to whole extents by LVM
        return _round_up(size, LVM_EXTENT)
    return size
