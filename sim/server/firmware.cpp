#include "sim/server/firmware.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "sim/server/exercise.h"

namespace lwm2msim {
namespace {

constexpr uint32_t kDefaultSzx = 6;  // 1024-byte blocks when the client names no size
constexpr uint32_t kMaxSzx = 6;      // 7 is reserved (BERT, reliable transports only)

std::string_view text_of(std::span<const uint8_t> payload) {
  return {reinterpret_cast<const char*>(payload.data()), payload.size()};
}

// A short, printable rendering of an unexpected payload for log lines.
std::string excerpt(std::span<const uint8_t> payload) {
  std::string s;
  for (uint8_t b : payload.first(std::min<size_t>(payload.size(), 24))) {
    s += (b >= 0x20 && b < 0x7f) ? static_cast<char>(b) : '?';
  }
  return s;
}

}  // namespace

std::string_view to_string(FirmwareStep step) {
  switch (step) {
    case FirmwareStep::kObserveState:
      return "observe_state";
    case FirmwareStep::kWriteUri:
      return "write_uri";
    case FirmwareStep::kDownload:
      return "download";
    case FirmwareStep::kExecute:
      return "execute";
    case FirmwareStep::kReadResult:
      return "read_result";
    case FirmwareStep::kReadVersion:
      return "read_version";
  }
  return "unknown";
}

bool links_announce_firmware(std::string_view links) {
  return links.find("</5/0>") != std::string_view::npos ||
         links.find("</5>") != std::string_view::npos;
}

std::string firmware_package_uri(const Endpoint4& server, std::string_view version, bool secure) {
  std::string uri = (secure ? "coaps://" : "coap://") + server.to_string() + "/fw/";
  uri.append(version);
  return uri;
}

uint8_t firmware_byte(uint64_t offset) {
  // splitmix64's finaliser: every byte depends on every bit of the offset.
  uint64_t z = offset + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return static_cast<uint8_t>(z ^ (z >> 31));
}

uint32_t firmware_etag(std::string_view version, uint32_t size) {
  uint32_t h = 2166136261u;  // FNV-1a
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 16777619u; };
  for (char c : version) {
    mix(static_cast<uint8_t>(c));
  }
  for (int i = 0; i < 4; ++i) {
    mix(static_cast<uint8_t>(size >> (8 * i)));
  }
  return h;
}

FirmwareBlockAnswer build_firmware_block(const CoapMessage& request, uint16_t message_id,
                                         uint32_t size, uint32_t etag, std::span<uint8_t> out) {
  FirmwareBlockAnswer a;
  uint32_t num = 0;
  uint32_t szx = kDefaultSzx;
  if (const CoapOptionView* block = request.find(CoapOption::kBlock2); block != nullptr) {
    const uint32_t v = block->as_uint();
    num = v >> 4;
    szx = v & 7;
  }
  const uint64_t block_size = uint64_t{16} << std::min(szx, kMaxSzx);
  const uint64_t offset = uint64_t{num} * block_size;
  const bool con = request.type() == CoapType::kCon;
  const bool bad = szx > kMaxSzx || (offset >= size && num > 0);
  a.code = bad ? CoapCode::kBadOption : CoapCode::kContent;
  CoapWriter w(out);
  w.header(con ? CoapType::kAck : CoapType::kNon, a.code, con ? request.message_id() : message_id,
           request.token());
  if (bad) {
    a.message = w.finish();
    return a;
  }
  const uint64_t length = std::min<uint64_t>(block_size, size - std::min<uint64_t>(offset, size));
  const bool more = offset + length < size;
  const uint8_t etag_bytes[] = {static_cast<uint8_t>(etag >> 24), static_cast<uint8_t>(etag >> 16),
                                static_cast<uint8_t>(etag >> 8), static_cast<uint8_t>(etag)};
  w.option(CoapOption::kETag, etag_bytes)
      .option_uint(CoapOption::kContentFormat, CoapContentFormat::kOctetStream)
      .option_uint(CoapOption::kBlock2, (num << 4) | (more ? 8u : 0u) | szx)
      .option_uint(CoapOption::kSize2, size);
  std::array<uint8_t, 1024> data;
  for (uint64_t i = 0; i < length; ++i) {
    data[i] = firmware_byte(offset + i);
  }
  w.payload(std::span<const uint8_t>(data.data(), static_cast<size_t>(length)));
  a.num = num;
  a.message = w.finish();
  return a;
}

std::span<const uint8_t> build_firmware_request(FirmwareStep step, std::string_view uri,
                                                uint16_t message_id, const CoapToken& token,
                                                std::span<uint8_t> out) {
  CoapWriter w(out);
  switch (step) {
    case FirmwareStep::kObserveState:
      w.header(CoapType::kCon, CoapCode::kGet, message_id, token.view())
          .option_uint(CoapOption::kObserve, 0)
          .option_path(CoapOption::kUriPath, "5/0/3")
          .option_uint(CoapOption::kAccept, CoapContentFormat::kTextPlain);
      break;
    case FirmwareStep::kWriteUri:
      w.header(CoapType::kCon, CoapCode::kPut, message_id, token.view())
          .option_path(CoapOption::kUriPath, "5/0/1")
          .option_uint(CoapOption::kContentFormat, CoapContentFormat::kTextPlain)
          .payload(uri);
      break;
    case FirmwareStep::kExecute:
      w.header(CoapType::kCon, CoapCode::kPost, message_id, token.view())
          .option_path(CoapOption::kUriPath, "5/0/2");
      break;
    case FirmwareStep::kReadResult:
    case FirmwareStep::kReadVersion:
      w.header(CoapType::kCon, CoapCode::kGet, message_id, token.view())
          .option_path(CoapOption::kUriPath, step == FirmwareStep::kReadResult ? "5/0/5" : "3/0/3")
          .option_uint(CoapOption::kAccept, CoapContentFormat::kTextPlain);
      break;
    case FirmwareStep::kDownload:
      return {};
  }
  return w.finish();
}

bool parse_text_integer(std::span<const uint8_t> payload, int64_t* out) {
  const std::string_view text = text_of(payload);
  if (text.empty()) {
    return false;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return false;
  }
  *out = v;
  return true;
}

std::string check_firmware_response(FirmwareStep step, const CoapMessage& response,
                                    std::string_view version, int64_t* state) {
  const bool read = step == FirmwareStep::kObserveState || step == FirmwareStep::kReadResult ||
                    step == FirmwareStep::kReadVersion;
  const uint8_t want = read ? CoapCode::kContent : CoapCode::kChanged;
  if (step == FirmwareStep::kDownload) {
    return "no request to answer";
  }
  if (response.code() != want) {
    return "got " + coap_code_text(response.code());
  }
  int64_t value = 0;
  switch (step) {
    case FirmwareStep::kObserveState:
      if (response.find(CoapOption::kObserve) == nullptr) {
        return "got 2.05 without Observe";
      }
      if (!parse_text_integer(response.payload(), &value)) {
        return "got State '" + excerpt(response.payload()) + "'";
      }
      *state = value;
      return {};
    case FirmwareStep::kReadResult:
      if (!parse_text_integer(response.payload(), &value)) {
        return "got Update Result '" + excerpt(response.payload()) + "'";
      }
      if (value != firmware::kResultSuccess) {
        return "got Update Result " + std::to_string(value);
      }
      return {};
    case FirmwareStep::kReadVersion:
      if (text_of(response.payload()) != version) {
        return "got version '" + excerpt(response.payload()) + "'";
      }
      return {};
    default:
      return {};
  }
}

FirmwareRollout::Shard& FirmwareRollout::shard_of(std::string_view endpoint) {
  return shards_[std::hash<std::string_view>{}(endpoint) % kShards];
}

bool FirmwareRollout::begin(std::string_view endpoint) {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  return s.entries.try_emplace(std::string(endpoint)).second;
}

void FirmwareRollout::executing(std::string_view endpoint, TimeUs started, TimeUs now) {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  Entry& e = s.entries[std::string(endpoint)];
  e.started = started;
  e.executed_at = now;
  e.executing = true;
}

bool FirmwareRollout::take_rebooted(std::string_view endpoint, TimeUs* started) {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  auto it = s.entries.find(std::string(endpoint));
  if (it == s.entries.end() || !it->second.executing) {
    return false;
  }
  *started = it->second.started;
  // Still claimed, by the campaign's new registration.
  it->second.executing = false;
  return true;
}

void FirmwareRollout::end(std::string_view endpoint) {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  s.entries.erase(std::string(endpoint));
}

bool FirmwareRollout::cancel_executing(std::string_view endpoint, TimeUs executed_at) {
  Shard& s = shard_of(endpoint);
  std::lock_guard lock(s.mutex);
  auto it = s.entries.find(std::string(endpoint));
  if (it == s.entries.end() || !it->second.executing || it->second.executed_at != executed_at) {
    return false;
  }
  s.entries.erase(it);
  return true;
}

size_t FirmwareRollout::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.entries.size();
  }
  return n;
}

}  // namespace lwm2msim
