#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lwm2msim {

// IPv4 address and port in host byte order; the identity of one endpoint on the wire.
struct Endpoint4 {
  uint32_t ip = 0;
  uint16_t port = 0;

  uint64_t key() const { return (uint64_t{ip} << 16) | port; }
  std::string to_string() const;
  friend bool operator==(const Endpoint4&, const Endpoint4&) = default;
};

// Parses a whole decimal string into *out; false on anything else (sign, spaces, overflow).
bool parse_u32(std::string_view text, uint32_t* out);
// Parses "a.b.c.d" into host order; false on anything else.
bool parse_ipv4(std::string_view text, uint32_t* ip);
std::string ipv4_to_string(uint32_t ip);
// Parses "HOST:PORT" (HOST an IPv4 literal or "localhost").
bool parse_endpoint(std::string_view text, Endpoint4* out);

// The set of local addresses the fleet's clients use: a union of IPv4 ranges (CIDR blocks or
// single addresses) times a port range. Client i gets address i; addresses enumerate IPs fastest:
// index = port_index * ip_count + ip_index. A port of 0 means "let the kernel choose" (only with
// one socket per port).
//
// Syntax: comma-separated items "CIDR|IP|IP-IP" each optionally followed by ":PORT" or
// ":PORT-PORT"; the port range given on any item applies to the whole plan.
// Examples: "127.0.0.0/16", "127.0.0.1,127.0.0.2", "127.0.0.1:40000-40999", "10.0.0.5".
class AddressPlan {
 public:
  // Returns an empty string on success, else the reason.
  static std::string parse(std::string_view spec, AddressPlan* out);

  uint64_t ip_count() const { return ip_count_; }
  uint32_t port_first() const { return port_first_; }
  uint32_t port_count() const { return port_count_; }
  uint64_t capacity() const { return ip_count_ * port_count_; }

  uint32_t ip_at(uint64_t ip_index) const;
  // Index of ip in the plan, or UINT64_MAX.
  uint64_t index_of_ip(uint32_t ip) const;

 private:
  struct Range {
    uint32_t first = 0;
    uint32_t count = 0;
    uint64_t offset = 0;  // index of `first` in the plan
  };
  std::vector<Range> ranges_;
  uint64_t ip_count_ = 0;
  uint32_t port_first_ = 0;
  uint32_t port_count_ = 1;
};

}  // namespace lwm2msim
