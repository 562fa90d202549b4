#include "sim/util/address_plan.h"

#include <algorithm>
#include <charconv>

namespace lwm2msim {
bool parse_u32(std::string_view text, uint32_t* out) {
  if (text.empty()) {
    return false;
  }
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string Endpoint4::to_string() const {
  return ipv4_to_string(ip) + ":" + std::to_string(port);
}

bool parse_ipv4(std::string_view text, uint32_t* ip) {
  uint32_t result = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = i < 3 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) {
      return false;
    }
    uint32_t octet = 0;
    if (dot == 0 || dot > 3 || !parse_u32(text.substr(0, dot), &octet) || octet > 255) {
      return false;
    }
    result = (result << 8) | octet;
    text.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  *ip = result;
  return text.empty();
}

std::string ipv4_to_string(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

bool parse_endpoint(std::string_view text, Endpoint4* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  const std::string_view host = text.substr(0, colon);
  uint32_t port = 0;
  if (!parse_u32(text.substr(colon + 1), &port) || port > 65535) {
    return false;
  }
  uint32_t ip = 0;
  if (host == "localhost") {
    ip = 0x7f000001;
  } else if (!parse_ipv4(host, &ip)) {
    return false;
  }
  out->ip = ip;
  out->port = static_cast<uint16_t>(port);
  return true;
}

std::string AddressPlan::parse(std::string_view spec, AddressPlan* out) {
  AddressPlan plan;
  bool have_ports = false;
  std::vector<std::pair<uint32_t, uint64_t>> blocks;  // first, count
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view item = trim(spec.substr(0, comma));
    spec.remove_prefix(comma == std::string_view::npos ? spec.size() : comma + 1);
    if (item.empty()) {
      return "empty item in address list";
    }
    const std::string item_text(item);
    if (const size_t colon = item.find(':'); colon != std::string_view::npos) {
      const std::string_view ports = item.substr(colon + 1);
      item = item.substr(0, colon);
      const size_t dash = ports.find('-');
      uint32_t lo = 0;
      uint32_t hi = 0;
      const bool ok = dash == std::string_view::npos ? parse_u32(ports, &lo) && (hi = lo, true)
                                                     : parse_u32(ports.substr(0, dash), &lo) &&
                                                           parse_u32(ports.substr(dash + 1), &hi);
      if (!ok || lo == 0 || hi > 65535 || lo > hi) {
        return "bad port range in '" + item_text + "' (want PORT or FIRST-LAST, 1-65535)";
      }
      if (have_ports && (plan.port_first_ != lo || plan.port_count_ != hi - lo + 1)) {
        return "conflicting port ranges in address list";
      }
      have_ports = true;
      plan.port_first_ = lo;
      plan.port_count_ = hi - lo + 1;
    }
    uint32_t first = 0;
    uint64_t count = 0;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      uint32_t prefix = 0;
      if (!parse_ipv4(item.substr(0, slash), &first) ||
          !parse_u32(item.substr(slash + 1), &prefix) || prefix > 32) {
        return "bad CIDR block '" + item_text + "'";
      }
      const uint64_t size = uint64_t{1} << (32 - prefix);
      first &= static_cast<uint32_t>(~(size - 1));
      count = size;
      // The network and broadcast addresses of a block are not usable as sources.
      if (prefix < 31) {
        first += 1;
        count -= 2;
      }
    } else if (const size_t dash = item.find('-'); dash != std::string_view::npos) {
      uint32_t last = 0;
      if (!parse_ipv4(item.substr(0, dash), &first) || !parse_ipv4(item.substr(dash + 1), &last) ||
          last < first) {
        return "bad address range '" + item_text + "'";
      }
      count = uint64_t{last} - first + 1;
    } else {
      if (!parse_ipv4(item, &first)) {
        return "bad IPv4 address '" + item_text + "'";
      }
      count = 1;
    }
    blocks.emplace_back(first, count);
  }
  if (blocks.empty()) {
    return "no addresses given";
  }
  std::sort(blocks.begin(), blocks.end());
  for (const auto& [first, count] : blocks) {
    if (!plan.ranges_.empty()) {
      const Range& last = plan.ranges_.back();
      if (uint64_t{first} < uint64_t{last.first} + last.count) {
        return "overlapping address ranges";
      }
    }
    plan.ranges_.push_back({first, static_cast<uint32_t>(count), plan.ip_count_});
    plan.ip_count_ += count;
  }
  *out = std::move(plan);
  return {};
}

uint32_t AddressPlan::ip_at(uint64_t ip_index) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), ip_index,
                             [](uint64_t v, const Range& r) { return v < r.offset; });
  const Range& r = *(it - 1);
  return r.first + static_cast<uint32_t>(ip_index - r.offset);
}

uint64_t AddressPlan::index_of_ip(uint32_t ip) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), ip,
                             [](uint32_t v, const Range& r) { return v < r.first; });
  if (it == ranges_.begin()) {
    return UINT64_MAX;
  }
  const Range& r = *(it - 1);
  if (ip - r.first >= r.count) {
    return UINT64_MAX;
  }
  return r.offset + (ip - r.first);
}

}  // namespace lwm2msim
