#include "sim/dm/attributes.h"

#include <array>
#include <charconv>
#include <cmath>

#include "sim/coap/coap.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {
namespace {

constexpr std::array<std::string_view, kAttrCount> kAttrNames = {
    "pmin", "pmax", "gt", "lt", "st", "epmin", "epmax", "edge", "con",
};

constexpr std::array<Attr, kAttrCount> kAllAttrs = {
    Attr::kPmin,  Attr::kPmax,  Attr::kGt,   Attr::kLt,  Attr::kSt,
    Attr::kEpmin, Attr::kEpmax, Attr::kEdge, Attr::kCon,
};

constexpr int kResourceDepth = 3;

// Attributes the TS attaches to resources and resource instances only.
bool is_resource_only(Attr a) {
  return a == Attr::kGt || a == Attr::kLt || a == Attr::kSt || a == Attr::kEdge;
}

bool at_least(Lwm2mVersion v, Lwm2mVersion min) {
  return static_cast<uint8_t>(v) >= static_cast<uint8_t>(min);
}

bool allowed(Attr a, const AttributeTarget& target) {
  switch (a) {
    case Attr::kPmin:
    case Attr::kPmax:
      return true;
    case Attr::kEpmin:
    case Attr::kEpmax:
      return at_least(target.version, Lwm2mVersion::k1_1);
    case Attr::kGt:
    case Attr::kLt:
    case Attr::kSt:
      return target.depth >= kResourceDepth && is_numeric(target.type);
    case Attr::kEdge:
      return at_least(target.version, Lwm2mVersion::k1_2) && target.depth >= kResourceDepth &&
             target.type == ResourceType::kBoolean;
    case Attr::kCon:
      return at_least(target.version, Lwm2mVersion::k1_2);
  }
  return false;
}

bool parse_finite(std::string_view text, double* out) {
  if (text.empty()) {
    return false;
  }
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && std::isfinite(*out);
}

bool parse_flag(std::string_view text, bool* out) {
  if (text != "0" && text != "1") {
    return false;
  }
  *out = text == "1";
  return true;
}

// Sets attribute `a` from its textual value; false when the value is malformed or out of range.
bool set_from_text(Attr a, std::string_view text, NotificationAttributes* attrs) {
  uint32_t period = 0;
  double number = 0;
  bool flag = false;
  switch (a) {
    case Attr::kPmin:
    case Attr::kPmax:
    case Attr::kEpmin:
    case Attr::kEpmax:
      if (!parse_u32(text, &period)) {
        return false;
      }
      if (a == Attr::kPmin) {
        attrs->set_pmin(period);
      } else if (a == Attr::kPmax) {
        attrs->set_pmax(period);
      } else if (a == Attr::kEpmin) {
        attrs->set_epmin(period);
      } else {
        attrs->set_epmax(period);
      }
      return true;
    case Attr::kGt:
    case Attr::kLt:
    case Attr::kSt:
      if (!parse_finite(text, &number)) {
        return false;
      }
      if (a == Attr::kGt) {
        attrs->set_gt(number);
      } else if (a == Attr::kLt) {
        attrs->set_lt(number);
      } else {
        // A step of 0 or less would notify on every sample or never mean anything.
        if (number <= 0) {
          return false;
        }
        attrs->set_st(number);
      }
      return true;
    case Attr::kEdge:
    case Attr::kCon:
      if (!parse_flag(text, &flag)) {
        return false;
      }
      if (a == Attr::kEdge) {
        attrs->set_edge(flag);
      } else {
        attrs->set_con(flag);
      }
      return true;
  }
  return false;
}

bool consistent(const NotificationAttributes& a) {
  if (a.has(Attr::kPmin) && a.has(Attr::kPmax) && a.pmin() > a.pmax()) {
    return false;
  }
  if (a.has(Attr::kEpmin) && a.has(Attr::kEpmax) && a.epmin() > a.epmax()) {
    return false;
  }
  if (a.has(Attr::kLt) && a.has(Attr::kGt)) {
    if (a.lt() >= a.gt()) {
      return false;
    }
    if (a.has(Attr::kSt) && a.lt() + 2 * a.st() >= a.gt()) {
      return false;
    }
  }
  return true;
}

void append_uint(uint32_t v, std::string* out) {
  char buf[16];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void append_double(double v, std::string* out) {
  if (v == 0) {
    v = 0;  // no "-0"
  }
  // Fixed notation, because the TS grammar for gt/lt/st has no exponent; without a precision
  // to_chars gives the shortest digits that read back as the same double. Large enough for the
  // longest case, the smallest subnormal (about 330 characters).
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  out->append(buf, r.ptr);
}

}  // namespace

std::string_view to_string(Attr a) {
  return kAttrNames[static_cast<size_t>(a)];
}

bool parse_attr_name(std::string_view name, Attr* out) {
  for (Attr a : kAllAttrs) {
    if (kAttrNames[static_cast<size_t>(a)] == name) {
      *out = a;
      return true;
    }
  }
  return false;
}

void NotificationAttributes::unset(Attr a) {
  mask_ &= static_cast<uint16_t>(~bit(a));
  switch (a) {
    case Attr::kPmin:
      pmin_ = 0;
      break;
    case Attr::kPmax:
      pmax_ = 0;
      break;
    case Attr::kGt:
      gt_ = 0;
      break;
    case Attr::kLt:
      lt_ = 0;
      break;
    case Attr::kSt:
      st_ = 0;
      break;
    case Attr::kEpmin:
      epmin_ = 0;
      break;
    case Attr::kEpmax:
      epmax_ = 0;
      break;
    case Attr::kEdge:
      edge_ = false;
      break;
    case Attr::kCon:
      con_ = false;
      break;
  }
}

void NotificationAttributes::copy_from(const NotificationAttributes& other, Attr a) {
  if (!other.has(a)) {
    unset(a);
    return;
  }
  switch (a) {
    case Attr::kPmin:
      set_pmin(other.pmin_);
      break;
    case Attr::kPmax:
      set_pmax(other.pmax_);
      break;
    case Attr::kGt:
      set_gt(other.gt_);
      break;
    case Attr::kLt:
      set_lt(other.lt_);
      break;
    case Attr::kSt:
      set_st(other.st_);
      break;
    case Attr::kEpmin:
      set_epmin(other.epmin_);
      break;
    case Attr::kEpmax:
      set_epmax(other.epmax_);
      break;
    case Attr::kEdge:
      set_edge(other.edge_);
      break;
    case Attr::kCon:
      set_con(other.con_);
      break;
  }
}

uint8_t apply_write_attributes(std::span<const std::string_view> queries,
                               const AttributeTarget& target, NotificationAttributes* attrs) {
  const int max_depth = at_least(target.version, Lwm2mVersion::k1_1) ? 4 : 3;
  if (target.depth < 1 || target.depth > max_depth) {
    return CoapCode::kBadRequest;
  }
  // Work on a copy so a request with one bad attribute changes nothing.
  NotificationAttributes next = *attrs;
  uint16_t seen = 0;
  for (std::string_view query : queries) {
    const size_t eq = query.find('=');
    const std::string_view name = query.substr(0, eq);
    Attr a;
    if (!parse_attr_name(name, &a)) {
      return CoapCode::kBadRequest;
    }
    const auto bit = static_cast<uint16_t>(1u << static_cast<int>(a));
    if ((seen & bit) != 0 || !allowed(a, target)) {
      return CoapCode::kBadRequest;
    }
    seen |= bit;
    if (eq == std::string_view::npos) {
      next.unset(a);
    } else if (!set_from_text(a, query.substr(eq + 1), &next)) {
      return CoapCode::kBadRequest;
    }
  }
  if (!consistent(next)) {
    return CoapCode::kBadRequest;
  }
  *attrs = next;
  return 0;
}

NotificationAttributes effective_attributes(
    std::span<const NotificationAttributes* const> levels_outer_to_inner, uint32_t default_pmin,
    std::optional<uint32_t> default_pmax) {
  NotificationAttributes result;
  for (size_t i = 0; i < levels_outer_to_inner.size(); ++i) {
    const NotificationAttributes* level = levels_outer_to_inner[i];
    if (level == nullptr) {
      continue;
    }
    const bool resource_or_below = i + 1 >= static_cast<size_t>(kResourceDepth);
    for (Attr a : kAllAttrs) {
      if (level->has(a) && (resource_or_below || !is_resource_only(a))) {
        result.copy_from(*level, a);
      }
    }
  }
  if (!result.has(Attr::kPmin)) {
    result.set_pmin(default_pmin);
  }
  if (!result.has(Attr::kPmax) && default_pmax.has_value()) {
    result.set_pmax(*default_pmax);
  }
  return result;
}

void append_link_params(const NotificationAttributes& attrs, std::string* out) {
  for (Attr a : kAllAttrs) {
    if (!attrs.has(a)) {
      continue;
    }
    out->push_back(';');
    out->append(to_string(a));
    out->push_back('=');
    switch (a) {
      case Attr::kPmin:
        append_uint(attrs.pmin(), out);
        break;
      case Attr::kPmax:
        append_uint(attrs.pmax(), out);
        break;
      case Attr::kEpmin:
        append_uint(attrs.epmin(), out);
        break;
      case Attr::kEpmax:
        append_uint(attrs.epmax(), out);
        break;
      case Attr::kGt:
        append_double(attrs.gt(), out);
        break;
      case Attr::kLt:
        append_double(attrs.lt(), out);
        break;
      case Attr::kSt:
        append_double(attrs.st(), out);
        break;
      case Attr::kEdge:
        out->push_back(attrs.edge() ? '1' : '0');
        break;
      case Attr::kCon:
        out->push_back(attrs.con() ? '1' : '0');
        break;
    }
  }
}

}  // namespace lwm2msim
