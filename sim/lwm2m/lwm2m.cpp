#include "sim/lwm2m/lwm2m.h"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace lwm2msim {
namespace {

bool parse_id(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 5) {
    return false;
  }
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && *out <= 65534;
}

bool set_level(Lwm2mPath* p, int level, uint32_t id) {
  switch (level) {
    case 0:
      p->object = id;
      return true;
    case 1:
      p->instance = id;
      return true;
    case 2:
      p->resource = id;
      return true;
    case 3:
      p->resource_instance = id;
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string_view to_string(Lwm2mVersion v) {
  switch (v) {
    case Lwm2mVersion::k1_0:
      return "1.0";
    case Lwm2mVersion::k1_1:
      return "1.1";
    case Lwm2mVersion::k1_2:
      return "1.2";
  }
  return "1.1";
}

bool parse_lwm2m_version(std::string_view text, Lwm2mVersion* out) {
  if (text == "1.0") {
    *out = Lwm2mVersion::k1_0;
  } else if (text == "1.1") {
    *out = Lwm2mVersion::k1_1;
  } else if (text == "1.2") {
    *out = Lwm2mVersion::k1_2;
  } else {
    return false;
  }
  return true;
}

int Lwm2mPath::depth() const {
  if (object == kAbsent) {
    return 0;
  }
  if (instance == kAbsent) {
    return 1;
  }
  if (resource == kAbsent) {
    return 2;
  }
  return resource_instance == kAbsent ? 3 : 4;
}

bool is_under(const Lwm2mPath& path, const Lwm2mPath& base) {
  const uint32_t b[] = {base.object, base.instance, base.resource, base.resource_instance};
  const uint32_t p[] = {path.object, path.instance, path.resource, path.resource_instance};
  for (int i = 0; i < base.depth(); ++i) {
    if (b[i] != p[i]) {
      return false;
    }
  }
  return true;
}

bool path_less(const Lwm2mPath& a, const Lwm2mPath& b) {
  return std::tuple{a.object, a.instance, a.resource, a.resource_instance} <
         std::tuple{b.object, b.instance, b.resource, b.resource_instance};
}

std::string Lwm2mPath::to_string() const {
  const uint32_t ids[] = {object, instance, resource, resource_instance};
  std::string s;
  for (int i = 0; i < depth(); ++i) {
    s += '/';
    s += std::to_string(ids[i]);
  }
  return s.empty() ? "/" : s;
}

bool parse_lwm2m_path(std::string_view text, Lwm2mPath* out) {
  Lwm2mPath p;
  if (text.empty() || text.front() != '/') {
    return false;
  }
  text.remove_prefix(1);
  int level = 0;
  while (!text.empty()) {
    const size_t slash = text.find('/');
    uint32_t id = 0;
    if (!parse_id(text.substr(0, slash), &id) || !set_level(&p, level++, id)) {
      return false;
    }
    text.remove_prefix(slash == std::string_view::npos ? text.size() : slash + 1);
  }
  *out = p;
  return true;
}

bool lwm2m_path_from_request(const CoapMessage& request, Lwm2mPath* out) {
  Lwm2mPath p;
  int level = 0;
  for (const CoapOptionView& o : request.options()) {
    if (o.number != CoapOption::kUriPath) {
      continue;
    }
    // A single empty segment is the root path ("/").
    if (o.value.empty() && level == 0 && request.count(CoapOption::kUriPath) == 1) {
      break;
    }
    uint32_t id = 0;
    if (!parse_id(o.as_string(), &id) || !set_level(&p, level++, id)) {
      return false;
    }
  }
  *out = p;
  return true;
}

std::string_view to_string(Lwm2mOperation op) {
  switch (op) {
    case Lwm2mOperation::kRead:
      return "read";
    case Lwm2mOperation::kDiscover:
      return "discover";
    case Lwm2mOperation::kWrite:
      return "write";
    case Lwm2mOperation::kWritePartial:
      return "write_partial";
    case Lwm2mOperation::kWriteAttributes:
      return "write_attributes";
    case Lwm2mOperation::kExecute:
      return "execute";
    case Lwm2mOperation::kCreate:
      return "create";
    case Lwm2mOperation::kDelete:
      return "delete";
    case Lwm2mOperation::kObserve:
      return "observe";
    case Lwm2mOperation::kCancelObserve:
      return "cancel_observe";
    case Lwm2mOperation::kReadComposite:
      return "read_composite";
    case Lwm2mOperation::kObserveComposite:
      return "observe_composite";
    case Lwm2mOperation::kWriteComposite:
      return "write_composite";
    case Lwm2mOperation::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Lwm2mOperation classify_request(const CoapMessage& request, const Lwm2mPath& path) {
  const CoapOptionView* observe = request.find(CoapOption::kObserve);
  switch (request.code()) {
    case CoapCode::kGet: {
      if (observe != nullptr) {
        return observe->as_uint() == 0 ? Lwm2mOperation::kObserve : Lwm2mOperation::kCancelObserve;
      }
      const CoapOptionView* accept = request.find(CoapOption::kAccept);
      if (accept != nullptr && accept->as_uint() == CoapContentFormat::kLinkFormat) {
        return Lwm2mOperation::kDiscover;
      }
      return Lwm2mOperation::kRead;
    }
    case CoapCode::kFetch:
      if (observe != nullptr && observe->as_uint() == 0) {
        return Lwm2mOperation::kObserveComposite;
      }
      return Lwm2mOperation::kReadComposite;
    case CoapCode::kIPatch:
      return Lwm2mOperation::kWriteComposite;
    case CoapCode::kPut:
      if (request.payload().empty() && request.find(CoapOption::kUriQuery) != nullptr) {
        return Lwm2mOperation::kWriteAttributes;
      }
      return Lwm2mOperation::kWrite;
    case CoapCode::kPost:
      switch (path.depth()) {
        case 1:
          return Lwm2mOperation::kCreate;
        case 2:
          return Lwm2mOperation::kWritePartial;
        case 3:
          return Lwm2mOperation::kExecute;
        default:
          return Lwm2mOperation::kUnknown;
      }
    case CoapCode::kDelete:
      return Lwm2mOperation::kDelete;
    default:
      return Lwm2mOperation::kUnknown;
  }
}

std::string EndpointPattern::parse(std::string_view pattern, EndpointPattern* out) {
  EndpointPattern p;
  bool seen = false;
  std::string* target = &p.prefix_;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c != '%') {
      *target += c;
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '%') {
      *target += '%';
      ++i;
      continue;
    }
    if (seen) {
      return "endpoint pattern '" + std::string(pattern) + "' has more than one %d";
    }
    size_t j = i + 1;
    if (j < pattern.size() && pattern[j] == '0') {
      p.zero_pad_ = true;
      ++j;
    }
    uint32_t width = 0;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9') {
      width = width * 10 + static_cast<uint32_t>(pattern[j] - '0');
      if (width > 20) {
        return "endpoint pattern '" + std::string(pattern) + "' has a width above 20";
      }
      ++j;
    }
    if (j >= pattern.size() || (pattern[j] != 'd' && pattern[j] != 'u')) {
      return "endpoint pattern '" + std::string(pattern) + "' wants %d, %0Nd or %Nd";
    }
    p.width_ = static_cast<uint8_t>(width);
    seen = true;
    target = &p.suffix_;
    i = j;
  }
  if (!seen) {
    return "endpoint pattern '" + std::string(pattern) +
           "' has no %d, so every client would share one name";
  }
  if (p.prefix_.size() + p.suffix_.size() > 40) {
    return "endpoint pattern '" + std::string(pattern) + "' is longer than 40 characters";
  }
  *out = std::move(p);
  return {};
}

std::string_view EndpointPattern::format(uint64_t index, std::span<char> out) const {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, index);
  const size_t ndigits = static_cast<size_t>(end - digits);
  const size_t pad = width_ > ndigits ? width_ - ndigits : 0;
  const size_t total = prefix_.size() + pad + ndigits + suffix_.size();
  if (total > out.size()) {
    return {};
  }
  char* p = out.data();
  p = std::copy(prefix_.begin(), prefix_.end(), p);
  p = std::fill_n(p, pad, zero_pad_ ? '0' : ' ');
  p = std::copy(digits, end, p);
  std::copy(suffix_.begin(), suffix_.end(), p);
  return {out.data(), total};
}

std::string EndpointPattern::format(uint64_t index) const {
  char buf[64];
  return std::string(format(index, buf));
}

namespace {

std::string_view format_uint_query(std::span<char> buf, std::string_view key, uint32_t value) {
  char digits[12];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  const size_t len = key.size() + 1 + static_cast<size_t>(end - digits);
  if (len > buf.size()) {
    return {};
  }
  char* p = std::copy(key.begin(), key.end(), buf.data());
  *p++ = '=';
  std::copy(digits, end, p);
  return {buf.data(), len};
}

std::string_view concat_query(std::span<char> buf, std::string_view key, std::string_view value) {
  const size_t len = key.size() + 1 + value.size();
  if (len > buf.size()) {
    return {};
  }
  char* p = std::copy(key.begin(), key.end(), buf.data());
  *p++ = '=';
  std::copy(value.begin(), value.end(), p);
  return {buf.data(), len};
}

}  // namespace

std::span<const uint8_t> build_register(std::span<uint8_t> out, uint16_t message_id,
                                        const CoapToken& token, const RegistrationParams& params) {
  char ep[96];
  char lt[24];
  char ver[16];
  char b[16];
  char binding[8];
  std::string_view bind = params.binding;
  const bool queue_param =
      params.version != Lwm2mVersion::k1_0 && bind.find('Q') != std::string_view::npos;
  if (queue_param && bind.size() <= sizeof binding) {
    const auto end = std::remove_copy(bind.begin(), bind.end(), binding, 'Q');
    bind = {binding, static_cast<size_t>(end - binding)};
  }
  CoapWriter w(out);
  w.header(CoapType::kCon, CoapCode::kPost, message_id, token.view())
      .option(CoapOption::kUriPath, std::string_view("rd"))
      .option_uint(CoapOption::kContentFormat, CoapContentFormat::kLinkFormat)
      .option(CoapOption::kUriQuery, concat_query(ep, "ep", params.endpoint))
      .option(CoapOption::kUriQuery, format_uint_query(lt, "lt", params.lifetime_s))
      .option(CoapOption::kUriQuery, concat_query(ver, "lwm2m", to_string(params.version)))
      .option(CoapOption::kUriQuery, concat_query(b, "b", bind));
  if (queue_param) {
    w.option(CoapOption::kUriQuery, std::string_view("Q"));
  }
  w.payload(params.links);
  return w.finish();
}

std::span<const uint8_t> build_bootstrap_request(std::span<uint8_t> out, uint16_t message_id,
                                                 const CoapToken& token, std::string_view endpoint,
                                                 uint16_t preferred_format) {
  char ep[96];
  char pct[24];
  CoapWriter w(out);
  w.header(CoapType::kCon, CoapCode::kPost, message_id, token.view())
      .option(CoapOption::kUriPath, std::string_view("bs"))
      .option(CoapOption::kUriQuery, concat_query(ep, "ep", endpoint));
  if (preferred_format != 0) {
    w.option(CoapOption::kUriQuery, format_uint_query(pct, "pct", preferred_format));
  }
  return w.finish();
}

std::span<const uint8_t> build_update(std::span<uint8_t> out, uint16_t message_id,
                                      const CoapToken& token, std::string_view location,
                                      uint32_t lifetime_s, std::string_view links) {
  char lt[24];
  CoapWriter w(out);
  w.header(CoapType::kCon, CoapCode::kPost, message_id, token.view())
      .option_path(CoapOption::kUriPath, location);
  if (!links.empty()) {
    w.option_uint(CoapOption::kContentFormat, CoapContentFormat::kLinkFormat);
  }
  if (lifetime_s != 0) {
    w.option(CoapOption::kUriQuery, format_uint_query(lt, "lt", lifetime_s));
  }
  w.payload(links);
  return w.finish();
}

bool parse_resource_uri(std::string_view uri, ResourceUri* out) {
  const size_t colon = uri.find("://");
  if (colon == 0 || colon == std::string_view::npos) {
    return false;
  }
  out->scheme = uri.substr(0, colon);
  std::string_view rest = uri.substr(colon + 3);
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  out->path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  // Without a port, the scheme's default; parse_endpoint reads host and port either way.
  const bool has_port = authority.find(':') != std::string_view::npos;
  std::string host_port(authority);
  if (!has_port) {
    host_port += out->scheme == "coap" ? ":5683" : out->scheme == "coaps" ? ":5684" : ":0";
  }
  return parse_endpoint(host_port, &out->endpoint) && (!has_port || out->endpoint.port != 0);
}

std::span<const uint8_t> build_deregister(std::span<uint8_t> out, uint16_t message_id,
                                          const CoapToken& token, std::string_view location) {
  CoapWriter w(out);
  w.header(CoapType::kCon, CoapCode::kDelete, message_id, token.view())
      .option_path(CoapOption::kUriPath, location);
  return w.finish();
}

}  // namespace lwm2msim
