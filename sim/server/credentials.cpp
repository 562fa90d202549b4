#include "sim/server/credentials.h"

#include <fstream>
#include <memory>
#include <unordered_map>

#include "sim/dtls/dtls.h"

namespace lwm2msim {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const size_t comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) {
      return fields;
    }
    line.remove_prefix(comma + 1);
  }
}

}  // namespace

std::string load_psk_file(const std::string& path, std::vector<PskEntry>* out) {
  std::ifstream in(path);
  if (!in) {
    return "cannot read the file";
  }
  std::string text;
  size_t number = 0;
  bool header = false;
  while (std::getline(in, text)) {
    ++number;
    const std::string_view line = trim(text);
    if (line.empty() || line.starts_with('#')) {
      continue;
    }
    const std::vector<std::string_view> fields = split_fields(line);
    const std::string where = "line " + std::to_string(number) + ": ";
    if (!header) {
      if (fields.size() != 3 || fields[0] != "endpoint" || fields[1] != "psk_identity" ||
          fields[2] != "psk_key") {
        return where + "expected the header endpoint,psk_identity,psk_key";
      }
      header = true;
      continue;
    }
    if (fields.size() != 3) {
      return where + "expected 3 fields, got " + std::to_string(fields.size());
    }
    if (fields[1].empty()) {
      return where + "empty psk_identity";
    }
    std::optional<std::vector<uint8_t>> key = parse_hex_key(fields[2]);
    if (!key || key->empty()) {
      return where + "psk_key is not hex";
    }
    out->push_back({std::string(fields[0]), std::string(fields[1]), std::move(*key)});
  }
  if (!header) {
    return "no header endpoint,psk_identity,psk_key";
  }
  return {};
}

PskLookup make_psk_lookup(std::vector<PskEntry> entries, std::string seed) {
  auto keys = std::make_shared<std::unordered_map<std::string, std::vector<uint8_t>>>();
  for (PskEntry& e : entries) {
    (*keys)[e.identity] = std::move(e.key);
  }
  return [keys, seed = std::move(seed)](
             std::string_view identity) -> std::optional<std::vector<uint8_t>> {
    auto it = keys->find(std::string(identity));
    if (it != keys->end()) {
      return it->second;
    }
    if (seed.empty()) {
      return std::nullopt;
    }
    return derive_psk(seed, identity);
  };
}

}  // namespace lwm2msim
