#include <charconv>
#include <cmath>
#include <cstdio>

#include "sim/cli/cli.h"

namespace lwm2msim {

bool parse_duration(std::string_view text, TimeUs* out) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || !(value >= 0) || !std::isfinite(value)) {
    return false;
  }
  const std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1e6;
  } else if (unit == "ms") {
    scale = 1e3;
  } else if (unit == "us") {
    scale = 1;
  } else if (unit == "m" || unit == "min") {
    scale = 60e6;
  } else if (unit == "h") {
    scale = 3600e6;
  } else {
    return false;
  }
  const double us = value * scale;
  if (us > 1e15) {
    return false;
  }
  *out = static_cast<TimeUs>(std::llround(us));
  return true;
}

namespace {

std::string quoted(std::string_view text, std::string_view reason) {
  std::string s;
  s.reserve(text.size() + reason.size() + 2);
  s.append("'").append(text).append("'").append(reason);
  return s;
}

}  // namespace

std::string parse_server_uri(std::string_view uri, Endpoint4* out) {
  const bool secure = uri.starts_with("coaps://");
  if (!secure && !uri.starts_with("coap://")) {
    return quoted(uri, " is not a coap://HOST[:PORT] or coaps://HOST[:PORT] URI");
  }
  std::string_view rest = uri.substr(secure ? 8 : 7);
  if (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  // The default CoAP or CoAPs port applies when none is given (RFC 7252 6.1, 6.2).
  const bool has_port = rest.find(':') != std::string_view::npos;
  const std::string hostport =
      has_port ? std::string(rest) : std::string(rest).append(secure ? ":5684" : ":5683");
  if (!parse_endpoint(hostport, out) || out->port == 0) {
    return quoted(uri, ": want coap(s)://IPv4:PORT or coap(s)://localhost:PORT");
  }
  return {};
}

}  // namespace lwm2msim
