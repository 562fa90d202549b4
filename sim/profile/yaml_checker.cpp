#include "sim/profile/yaml_checker.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <system_error>
#include <tuple>

namespace lwm2msim::yaml {

std::string join(const std::string& field, std::string_view name) {
  return field.empty() ? std::string(name) : field + "." + std::string(name);
}

std::string fmt(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

std::string describe(const YAML::Node& node) {
  if (node.IsScalar()) {
    return "\"" + node.Scalar() + "\"";
  }
  if (node.IsMap()) {
    return node.size() == 0 ? "an empty map" : "a map";
  }
  if (node.IsSequence()) {
    return node.size() == 0 ? "an empty list" : "a list";
  }
  return "nothing";
}

std::string comma_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += out.empty() ? "" : ", ";
    out += s;
  }
  return out;
}

bool parse_double(std::string_view s, double* out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

bool Checker::parse(std::string_view text, YAML::Node* root) {
  try {
    *root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    error(e.mark, "yaml", e.msg);
    return false;
  }
  return true;
}

void Checker::error(const YAML::Mark& mark, const std::string& field, const std::string& reason) {
  // yaml-cpp counts from 0; editors and compilers from 1.
  const int line = mark.line < 0 ? 0 : mark.line + 1;
  const int column = mark.column < 0 ? 0 : mark.column + 1;
  errors_.push_back({line, column,
                     source_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                         field + ": " + reason});
}

std::string Checker::report() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Error& a, const Error& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  // Shared maps (a profile's count form, a profile named by two groups) repeat their problems.
  std::set<std::string> seen;
  std::string out;
  for (const Error& e : errors_) {
    if (seen.insert(e.text).second) {
      out += out.empty() ? "" : "\n";
      out += e.text;
    }
  }
  return out;
}

std::vector<KeyValue> Checker::entries(const YAML::Node& map, const std::string& field) {
  std::vector<KeyValue> out;
  std::set<std::string> names;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      error(it->first.Mark(), field, "keys must be " + key_rule_);
      continue;
    }
    const std::string name = it->first.Scalar();
    if (!names.insert(name).second) {
      error(it->first.Mark(), join(field, name), "duplicate key");
      continue;
    }
    out.push_back({name, it->first, it->second});
  }
  return out;
}

void Checker::allow(const std::vector<KeyValue>& kvs, const std::string& field,
                    std::initializer_list<std::string_view> allowed) {
  allow(kvs, field, std::vector<std::string>(allowed.begin(), allowed.end()));
}

void Checker::allow(const std::vector<KeyValue>& kvs, const std::string& field,
                    const std::vector<std::string>& allowed) {
  for (const KeyValue& kv : kvs) {
    if (std::find(allowed.begin(), allowed.end(), kv.name) == allowed.end()) {
      error(kv.key.Mark(), join(field, kv.name),
            "unknown key (expected one of: " + comma_list(allowed) + ")");
    }
  }
}

const KeyValue* Checker::find(const std::vector<KeyValue>& kvs, std::string_view name) {
  for (const KeyValue& kv : kvs) {
    if (kv.name == name) {
      return &kv;
    }
  }
  return nullptr;
}

bool Checker::read_string(const KeyValue& kv, const std::string& field, std::string* out) {
  if (!kv.value.IsScalar()) {
    error(kv.mark(), field, "expected a string, got " + describe(kv.value));
    return false;
  }
  *out = kv.value.Scalar();
  return true;
}

bool Checker::read_number(const KeyValue& kv, const std::string& field, double* out) {
  if (!kv.value.IsScalar() || !parse_double(kv.value.Scalar(), out)) {
    error(kv.mark(), field, "expected a number, got " + describe(kv.value));
    return false;
  }
  return true;
}

bool Checker::read_non_negative(const KeyValue& kv, const std::string& field, double* out) {
  if (!read_number(kv, field, out)) {
    return false;
  }
  if (*out < 0) {
    error(kv.mark(), field, "must not be negative, got " + fmt(*out));
    return false;
  }
  return true;
}

}  // namespace lwm2msim::yaml
