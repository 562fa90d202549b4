// scale: the fleet benchmark, lwm2m-sim against its built-in server in another process at growing
// fleet sizes, with the kernel's own cost of a UDP exchange measured beside it.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace lwm2msim::bench {

// CPU time a process's live threads have used so far, user plus system (/proc/PID/task/*/sched,
// else /proc/PID/stat in 10 ms clock ticks). Negative when the process is gone.
double process_cpu_seconds(pid_t pid);

// Resident set of a process (/proc/PID/status VmRSS), bytes; 0 when it is gone.
uint64_t process_rss_bytes(pid_t pid);

// Memory the kernel holds for UDP sockets machine-wide (/proc/net/sockstat, "UDP: mem"), bytes.
uint64_t kernel_udp_bytes();

}  // namespace lwm2msim::bench
