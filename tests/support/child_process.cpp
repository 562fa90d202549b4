#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace lwm2msim::testing {

ChildProcess::ChildProcess(std::vector<std::string> args) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  if (rc != 0) {
    throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  kill_now();
  ::close(out_fd_);
  ::close(err_fd_);
}

void ChildProcess::kill_now() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = 128 + SIGKILL;
  }
}

void ChildProcess::pump(std::chrono::milliseconds budget) {
  std::array<pollfd, 2> fds{{{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}}};
  if (poll(fds.data(), fds.size(), static_cast<int>(budget.count())) <= 0) {
    return;
  }
  std::array<char, 4096> buf;
  for (size_t i = 0; i < fds.size(); ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP)) != 0) {
      const ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
      if (n > 0) {
        (i == 0 ? out_ : err_).append(buf.data(), static_cast<size_t>(n));
      }
    }
  }
}

std::optional<std::string> ChildProcess::wait_stdout_line(const std::string& needle,
                                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t nl;
    while ((nl = out_.find('\n', out_scan_)) != std::string::npos) {
      std::string line = out_.substr(out_scan_, nl - out_scan_);
      out_scan_ = nl + 1;
      if (line.find(needle) != std::string::npos) {
        return line;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::nullopt;
    }
    pump(std::min(left, std::chrono::milliseconds(100)));
  }
}

bool ChildProcess::wait_stderr(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (err_.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pump(std::min(left, std::chrono::milliseconds(100)));
  }
  return true;
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, sig);
  }
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    pump(std::chrono::milliseconds(20));
  }
  // Drain what is left in the pipes.
  for (int i = 0; i < 50; ++i) {
    const size_t before = out_.size() + err_.size();
    pump(std::chrono::milliseconds(10));
    if (out_.size() + err_.size() == before) {
      break;
    }
  }
  return status_;
}

}  // namespace lwm2msim::testing
