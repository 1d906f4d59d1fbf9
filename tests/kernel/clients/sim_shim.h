/*
 * sim_shim.h: runs an unmodified parity client in-process against vfio-sim.
 *
 * Force-included (`-include tests/kernel/clients/sim_shim.h`) ahead of the
 * client's own code. It first includes every libc header a client may use,
 * so their declarations keep the real names, and then renames the calls that
 * reach the kernel's VFIO or the process's limits — open, close, ioctl,
 * pread, pwrite, mmap, munmap, setrlimit, capset — to vfiosim_shim_* functions
 * (sim_shim.cc). Those serve /dev/vfio paths and the simulator's fds from the
 * api::VfioSim installed with VfioSimShimInstall, and pass everything else
 * to libc; munmap always goes through the simulator (VfioSim::Munmap), which
 * forgets any BAR mapping in the range and unmaps the rest for real. `main` becomes VFIOSIM_CLIENT_MAIN (default vfiosim_client_main),
 * so several clients can be linked into one test binary.
 *
 * This is the fallback until `./vfiosim run` (the LD_PRELOAD shim) can run a
 * client unchanged; it sees exactly the calls the clients make through libc
 * (not raw syscall(2)). What it models beyond the facade:
 *   - RLIMIT_MEMLOCK with CAP_IPC_LOCK: the limit binds only once the client
 *     has cleared CAP_IPC_LOCK from its effective set (capset), as
 *     vfio_pin_pages_remote checks capable(CAP_IPC_LOCK). The limit is
 *     rounded down to pages like the kernel's; a limit below one page becomes
 *     one byte in the model (whose 0 means unlimited), which refuses every
 *     page just as a limit of 0 pages does. Neither call touches the real
 *     process limits or capabilities.
 *   - pread/pwrite/mmap on a device fd go to VfioSim::Pread/Pwrite/Mmap.
 *
 * Thread safety: one client at a time per process (a process-wide sim).
 */
#ifndef VFIOSIM_TESTS_KERNEL_CLIENTS_SIM_SHIM_H_
#define VFIOSIM_TESTS_KERNEL_CLIENTS_SIM_SHIM_H_

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

int vfiosim_shim_open(const char* path, int flags, ...);
int vfiosim_shim_close(int fd);
int vfiosim_shim_ioctl(int fd, unsigned long request, ...);
ssize_t vfiosim_shim_pread(int fd, void* buf, size_t count, off_t offset);
ssize_t vfiosim_shim_pwrite(int fd, const void* buf, size_t count, off_t offset);
void* vfiosim_shim_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset);
int vfiosim_shim_munmap(void* addr, size_t length);
int vfiosim_shim_setrlimit(int resource, const struct rlimit* limit);
int vfiosim_shim_capset(cap_user_header_t header, const cap_user_data_t data);

#ifdef __cplusplus
}
#endif

#ifndef VFIOSIM_SHIM_IMPLEMENTATION
#define open vfiosim_shim_open
#define close vfiosim_shim_close
#define ioctl vfiosim_shim_ioctl
#define pread vfiosim_shim_pread
#define pwrite vfiosim_shim_pwrite
#define mmap vfiosim_shim_mmap
#define munmap vfiosim_shim_munmap
#define setrlimit vfiosim_shim_setrlimit
#define capset vfiosim_shim_capset
#ifndef VFIOSIM_CLIENT_MAIN
#define VFIOSIM_CLIENT_MAIN vfiosim_client_main
#endif
#define main VFIOSIM_CLIENT_MAIN
#endif

#endif /* VFIOSIM_TESTS_KERNEL_CLIENTS_SIM_SHIM_H_ */
