#include "bench/scale/proc_stats.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lwm2msim::bench {

namespace {

// CPU time from /proc/PID/stat: utime + stime, in clock ticks.
double cpu_from_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return -1;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) {
    return -1;
  }
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  // state is field 3 of proc(5); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) {
      utime = std::stoull(field);
    } else if (i == 15) {
      stime = std::stoull(field);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// se.sum_exec_runtime of one thread (ms with ns precision), or -1 without CONFIG_SCHED_DEBUG.
double thread_runtime_ms(const std::filesystem::path& task) {
  std::ifstream in(task / "sched");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("se.sum_exec_runtime", 0) == 0) {
      return std::stod(line.substr(line.find(':') + 1));
    }
  }
  return -1;
}

}  // namespace

double process_cpu_seconds(pid_t pid) {
  // Threads' scheduler runtimes are exact to the nanosecond; the ticks of /proc/PID/stat are not.
  double ms = 0;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    const double t = thread_runtime_ms(task.path());
    if (t < 0) {
      return cpu_from_stat(pid);
    }
    ms += t;
  }
  return ec ? cpu_from_stat(pid) : ms / 1e3;
}

uint64_t process_rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      uint64_t kib = 0;
      in >> kib;
      return kib * 1024;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

uint64_t kernel_udp_bytes() {
  std::ifstream in("/proc/net/sockstat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("UDP:", 0) == 0) {
      const size_t at = line.find(" mem ");
      if (at == std::string::npos) {
        return 0;
      }
      return std::stoull(line.substr(at + 5)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    }
  }
  return 0;
}

}  // namespace lwm2msim::bench
