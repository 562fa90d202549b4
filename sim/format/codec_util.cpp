#include "sim/format/codec_util.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

namespace lwm2msim {

std::string relative_name(const Lwm2mPath& path, int level) {
  std::string name;
  for (int i = level; i < path.depth(); ++i) {
    if (i > level) {
      name += '/';
    }
    name += std::to_string(path_id(path, i));
  }
  return name;
}

std::string senml_base_name(const Lwm2mPath& base, std::span<const Record> records) {
  if (base.depth() == 0) {
    return {};
  }
  const bool all_at_base =
      !records.empty() &&
      std::all_of(records.begin(), records.end(), [&](const Record& r) { return r.path == base; });
  std::string name = base.to_string();
  if (!all_at_base) {
    name += '/';
  }
  return name;
}

// The range is tested before converting: an out-of-range conversion is undefined. 2^63 and 2^64
// are exact in a double, so the bounds are too.
bool double_to_int64(double d, int64_t* out) {
  if (!std::isfinite(d) || std::trunc(d) != d || d < -9223372036854775808.0 ||
      d >= 9223372036854775808.0) {
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool double_to_uint64(double d, uint64_t* out) {
  if (!std::isfinite(d) || std::trunc(d) != d || d < 0 || d >= 18446744073709551616.0) {
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

std::string objlnk_text(const Objlnk& link) {
  return std::to_string(link.object) + ":" + std::to_string(link.instance);
}

bool parse_objlnk(std::string_view s, Objlnk* out) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  uint16_t ids[2] = {0, 0};
  const std::string_view parts[2] = {s.substr(0, colon), s.substr(colon + 1)};
  for (int k = 0; k < 2; ++k) {
    // from_chars refuses empty parts, signs and anything past 65535.
    const char* end = parts[k].data() + parts[k].size();
    const auto r = std::from_chars(parts[k].data(), end, ids[k]);
    if (r.ec != std::errc() || r.ptr != end) {
      return false;
    }
  }
  *out = Objlnk{ids[0], ids[1]};
  return true;
}

}  // namespace lwm2msim
