#include "tests/integration/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "sim/coap/coap.h"

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

ServerProcess::ServerProcess(uint16_t port, std::vector<std::string> extra) {
  std::vector<std::string> args{LWM2MSIM_BINARY, "server", "--listen",
                                "127.0.0.1:" + std::to_string(port)};
  args.insert(args.end(), extra.begin(), extra.end());
  process_ = std::make_unique<ChildProcess>(args);
  const auto line = process_->wait_stdout_line("listening on ", std::chrono::seconds(10));
  if (!line || !parse_endpoint(line->substr(line->find("on ") + 3), &address_)) {
    throw std::runtime_error("server did not start: " + process_->err());
  }
}

// GET /sim/stats block by block (RFC 7959): with the per-step exercise lines the text outgrows
// one datagram. Starts over when the ETag shows the text changed between blocks.
std::map<std::string, uint64_t> query_server_stats(const Endpoint4& server) {
  static std::atomic<uint16_t> next_mid{0x4100};
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return {};
  }
  timeval tv{0, 300 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(server.ip);
  sa.sin_port = htons(server.port);
  // One block's answer: its payload, ETag and whether more follow; false when none came.
  auto fetch = [&](uint32_t num, std::string* payload, std::string* etag, bool* more) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      const uint16_t mid = next_mid++;
      const uint8_t token[] = {0x5e, static_cast<uint8_t>(mid)};
      std::array<uint8_t, 64> req;
      CoapWriter w(req);
      w.header(CoapType::kCon, CoapCode::kGet, mid, token)
          .option_path(CoapOption::kUriPath, "sim/stats")
          .option_uint(CoapOption::kBlock2, (num << 4) | 6);
      const auto msg = w.finish();
      sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      std::array<uint8_t, 2048> buf;
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      CoapMessage m;
      if (n <= 0 || m.parse({buf.data(), static_cast<size_t>(n)}) != CoapParseError::kOk ||
          m.message_id() != mid || m.code() != CoapCode::kContent) {
        continue;
      }
      const CoapOptionView* block = m.find(CoapOption::kBlock2);
      const CoapOptionView* tag = m.find(CoapOption::kETag);
      payload->assign(m.payload().begin(), m.payload().end());
      etag->assign(tag == nullptr ? std::string() : std::string(tag->as_string()));
      *more = block != nullptr && (block->as_uint() & 8) != 0;
      return block == nullptr || (block->as_uint() >> 4) == num;
    }
    return false;
  };
  std::string text;
  for (int round = 0; round < 5 && text.empty(); ++round) {
    std::string first_etag;
    for (uint32_t num = 0;; ++num) {
      std::string payload, etag;
      bool more = false;
      if (!fetch(num, &payload, &etag, &more) || (num > 0 && etag != first_etag)) {
        text.clear();
        break;
      }
      first_etag = num == 0 ? etag : first_etag;
      text += payload;
      if (!more) {
        break;
      }
    }
  }
  ::close(fd);
  std::map<std::string, uint64_t> result;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos) {
      result[std::string(line.substr(0, eq))] = std::stoull(std::string(line.substr(eq + 1)));
    }
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  return result;
}

FakeServer::FakeServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(0x7f000001);
  ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  address_ = {0x7f000001, ntohs(sa.sin_port)};
  timeval tv{2, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

FakeServer::~FakeServer() {
  ::close(fd_);
}

std::optional<std::vector<uint8_t>> FakeServer::receive(Endpoint4* from) {
  std::array<uint8_t, 2048> buf;
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  const ssize_t n =
      recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&sa), &len);
  if (n < 0) {
    return std::nullopt;
  }
  *from = {ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
  return std::vector<uint8_t>(buf.begin(), buf.begin() + n);
}

void FakeServer::send(const Endpoint4& to, std::span<const uint8_t> data) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(to.ip);
  sa.sin_port = htons(to.port);
  sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
}

}  // namespace lwm2msim::testing
