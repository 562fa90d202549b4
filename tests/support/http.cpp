#include "tests/support/http.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace lwm2msim::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

Socket::Socket(int type) : fd_(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
  if (fd_ < 0) {
    throw std::runtime_error("socket failed");
  }
}

Socket::~Socket() {
  ::close(fd_);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  return sa;
}

std::optional<HttpResponse> http_get(uint16_t port, const std::string& target,
                                     milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Socket s(SOCK_STREAM);
  // On Linux the send timeout also bounds connect().
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const sockaddr_in sa = loopback(port);
  if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    return std::nullopt;
  }
  const std::string request = "GET " + target +
                              " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nAccept: */*\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(s.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  while (true) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::nullopt;
    }
    pollfd pfd{s.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buf[8192];
    const ssize_t n = ::recv(s.fd(), buf, sizeof buf, 0);
    if (n < 0) {
      return std::nullopt;
    }
    if (n == 0) {
      break;
    }
    raw.append(buf, static_cast<size_t>(n));
  }
  const size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos || raw.size() < 12) {
    return std::nullopt;
  }
  HttpResponse r;
  r.status = std::atoi(raw.c_str() + 9);
  r.body = raw.substr(header_end + 4);
  return r;
}

uint16_t metrics_port(ChildProcess& run) {
  if (!run.wait_stderr("\n", seconds(30))) {
    return 0;
  }
  const std::string first = run.err().substr(0, run.err().find('\n'));
  constexpr std::string_view kPrefix = "metrics on http://127.0.0.1:";
  const size_t at = first.find(kPrefix);
  if (at == std::string::npos) {
    return 0;
  }
  const size_t begin = at + kPrefix.size();
  const size_t end = first.find("/metrics", begin);
  if (end == std::string::npos || end == begin) {
    return 0;
  }
  uint32_t port = 0;
  const auto [ptr, ec] = std::from_chars(first.data() + begin, first.data() + end, port);
  if (ec != std::errc() || ptr != first.data() + end) {
    return 0;
  }
  return port > 0 && port < 65536 ? static_cast<uint16_t>(port) : 0;
}

std::string parse_exposition(const std::string& text, Exposition* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      nl = text.size();
    }
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) {
      continue;
    }
    if (line[0] == '#') {
      if (line.rfind("# TYPE ", 0) == 0) {
        const size_t sp = line.find(' ', 7);
        if (sp == std::string::npos) {
          return line;
        }
        out->types[line.substr(7, sp - 7)] = line.substr(sp + 1);
      }
      continue;
    }
    Sample s;
    size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) {
      return line;
    }
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) {
          return line;
        }
        const std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
          }
          value += line[j];
        }
        if (j >= line.size()) {
          return line;
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') {
          ++i;
        }
      }
      if (i >= line.size()) {
        return line;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      return line;
    }
    const std::string value = line.substr(i + 1, line.find(' ', i + 1) - (i + 1));
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') {
      return line;
    }
    out->samples.push_back(std::move(s));
  }
  return {};
}

}  // namespace lwm2msim::testing
