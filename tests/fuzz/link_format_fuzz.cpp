// Fuzzes the CoRE link format (RFC 6690) decoder with its encoder round trip, and what reads the
// links' parameters: notification attributes as Write-Attributes takes them and Discover renders
// them (their rendering must apply again to the same attributes), and the registration links the
// built-in server picks a Create target from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sim/dm/attributes.h"
#include "sim/format/format.h"
#include "sim/server/exercise.h"
#include "tests/fuzz/fuzz_common.h"

namespace lwm2msim {
namespace {

using fuzz::check;

// ";pmin=10;gt=25.5" -> {"pmin=10", "gt=25.5"}
std::vector<std::string_view> split_params(std::string_view rendered) {
  std::vector<std::string_view> out;
  while (!rendered.empty()) {
    check(rendered.front() == ';');
    rendered.remove_prefix(1);
    const size_t end = rendered.find(';');
    out.push_back(rendered.substr(0, end));
    rendered = end == std::string_view::npos ? std::string_view{} : rendered.substr(end);
  }
  return out;
}

void check_attributes(const Link& link) {
  std::vector<std::string> queries;
  for (const auto& [name, value] : link.params) {
    Attr attr{};
    static_cast<void>(parse_attr_name(name, &attr));
    queries.push_back(value.empty() ? name : name + "=" + value);
  }
  const std::vector<std::string_view> views(queries.begin(), queries.end());
  Lwm2mPath path;
  const bool is_path = parse_lwm2m_path(link.target, &path);
  for (const Lwm2mVersion version : {Lwm2mVersion::k1_0, Lwm2mVersion::k1_1, Lwm2mVersion::k1_2}) {
    AttributeTarget target;
    target.depth = is_path && path.depth() > 0 ? path.depth() : 3;
    target.type = target.depth >= 3 ? fuzz::context_at(path).type_of(path) : ResourceType::kNone;
    target.version = version;
    NotificationAttributes attrs;
    if (apply_write_attributes(views, target, &attrs) != 0) {
      continue;
    }
    std::string rendered;
    append_link_params(attrs, &rendered);
    NotificationAttributes again;
    check(apply_write_attributes(split_params(rendered), target, &again) == 0);
    check(again == attrs);
  }
}

}  // namespace
}  // namespace lwm2msim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwm2msim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<Link> links;
  std::string error;
  if (!decode_links(text, &links, &error)) {
    check(links.empty() && !error.empty());
    return 0;
  }
  const std::string encoded = encode_links(links);
  std::vector<Link> again;
  check(decode_links(encoded, &again, &error));
  check(again == links);

  for (const Link& link : links) {
    check_attributes(link);
  }
  uint16_t object = 0;
  uint16_t instance = 0;
  if (pick_create_target(text, fuzz::registry(), &object, &instance)) {
    check(fuzz::registry().find(object) != nullptr);
  }
  return 0;
}
