#include "tests/integration/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "sim/coap/coap.h"

namespace lwm2msim::testing {

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
  return parse_stats(text);
}

std::map<std::string, uint64_t> parse_stats(std::string_view text) {
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
