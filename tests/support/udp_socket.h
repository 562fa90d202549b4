// A UDP socket on 127.0.0.1 and a free port that a test drives by hand: a peer that answers
// what the test says, or never answers at all.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "sim/util/address_plan.h"

namespace lwm2msim {

// A UDP socket on 127.0.0.1 (free port) owned by the test; receives time out after 100 ms.
class UdpSocket {
 public:
  UdpSocket() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      std::abort();  // loopback with port 0 always binds
    }
    socklen_t len = sizeof sa;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    timeval tv{0, 100 * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~UdpSocket() { ::close(fd_); }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  uint16_t port() const { return port_; }
  Endpoint4 endpoint() const { return {INADDR_LOOPBACK, port_}; }
  std::string uri() const { return "coap://127.0.0.1:" + std::to_string(port_); }
  // One datagram, or an empty vector after the timeout.
  std::vector<uint8_t> receive(sockaddr_in* from) {
    std::vector<uint8_t> buf(2048);
    socklen_t len = sizeof *from;
    const ssize_t n =
        recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(from), &len);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
  void send(const sockaddr_in& to, std::span<const uint8_t> data) {
    sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace lwm2msim
