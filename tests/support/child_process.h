// support: what tests and benchmarks share to drive lwm2m-sim from outside: child processes,
// HTTP scrapes of the metrics endpoint and the Prometheus text format.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lwm2msim::testing {

// A child process with its stdout and stderr captured; killed (SIGKILL) and reaped on destruction.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stdout until a line containing `needle` arrives; returns it, or nullopt on timeout/EOF.
  std::optional<std::string> wait_stdout_line(const std::string& needle,
                                              std::chrono::milliseconds timeout);
  // Waits until stderr contains `needle` anywhere; false on timeout/EOF.
  bool wait_stderr(const std::string& needle, std::chrono::milliseconds timeout);
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal if killed), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void kill_now();
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  pid_t pid() const { return pid_; }
  // Reads whatever is available within `budget` into out() and err(); call it now and then so a
  // long-running child never blocks on a full pipe.
  void pump(std::chrono::milliseconds budget);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  size_t out_scan_ = 0;
  std::optional<int> status_;
};

}  // namespace lwm2msim::testing
