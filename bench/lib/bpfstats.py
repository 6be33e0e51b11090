"""BPF programs' run-time stats (run_time_ns, run_cnt), held on by a file
descriptor: bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME). The kernel counts
these descriptors, so benchmarks and tests running side by side cannot
switch the stats off under each other, as restoring the one switch
kernel.bpf_stats_enabled would. Used by bench/lib/nwbench.py and
tests/xdp/e2e.py."""
import ctypes
import errno
import os

NR_BPF = {"x86_64": 321, "aarch64": 280}
BPF_ENABLE_STATS = 32


def enable():
    """Stats on while the returned fd is open; OSError when refused."""
    nr = NR_BPF.get(os.uname().machine)
    if nr is None:
        raise OSError(errno.ENOSYS, "BPF_ENABLE_STATS: syscall number "
                      "unknown on " + os.uname().machine)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    attr = ctypes.create_string_buffer(8)  # type = BPF_STATS_RUN_TIME (0)
    fd = libc.syscall(ctypes.c_long(nr),
                      ctypes.c_long(BPF_ENABLE_STATS), attr, ctypes.c_uint(8))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, "BPF_ENABLE_STATS: " + os.strerror(err))
    return fd
