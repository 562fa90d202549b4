// credentials: where a server's PSKs come from: a seed (every identity's key derived from it,
// derive_psk) or a CSV file of endpoint, identity and key. Key bytes are never printed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwm2msim {

struct PskEntry {
  std::string endpoint;
  std::string identity;
  std::vector<uint8_t> key;
};

// Reads a CSV file with the header `endpoint,psk_identity,psk_key` (key in hex) into *out. Empty
// on success, else "LINE N: reason" (never the key).
std::string load_psk_file(const std::string& path, std::vector<PskEntry>* out);

using PskLookup = std::function<std::optional<std::vector<uint8_t>>(std::string_view identity)>;

// The key of an identity: from `entries` when one has it, else derived from `seed` (unless it is
// empty). Thread-safe (reads only).
PskLookup make_psk_lookup(std::vector<PskEntry> entries, std::string seed);

}  // namespace lwm2msim
