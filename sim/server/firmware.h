// firmware: the server half of a firmware update over LwM2M object 5 in pull mode: the package,
// served block-wise (RFC 7959) at /fw/<version> with deterministic content, the campaign's
// requests and the checks on their answers, and the record, shared by the server threads, of
// which endpoints are in a campaign (the client comes back after its reboot with a new
// registration, possibly on another thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sim/coap/coap.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/util/address_plan.h"
#include "sim/util/time.h"

namespace lwm2msim {

// In campaign order.
enum class FirmwareStep : uint8_t {
  kObserveState,  // GET /5/0/3 Observe 0 Accept text -> 2.05 with Observe, the State
  kWriteUri,      // PUT /5/0/1 text "coap://SERVER/fw/VERSION" -> 2.04
  kDownload,      // notifications of /5/0/3: 1 (Downloading), then 2 (Downloaded)
  kExecute,       // POST /5/0/2 -> 2.04; the client reboots and registers again
  kReadResult,    // GET /5/0/5 Accept text, on the new registration -> 2.05 "1"
  kReadVersion,   // GET /3/0/3 Accept text -> 2.05 VERSION
};
constexpr size_t kFirmwareStepCount = 6;

// The step's name in stats keys and log lines: "write_uri".
std::string_view to_string(FirmwareStep step);

// Whether a Register's links announce a Firmware Update instance ("</5/0>" or "</5>").
bool links_announce_firmware(std::string_view links);
// "coap://127.0.0.1:5683/fw/9.9.9" ("coaps://..." when `secure`: the server speaks only DTLS).
std::string firmware_package_uri(const Endpoint4& server, std::string_view version,
                                 bool secure = false);
// Byte `offset` of every package: a hash of the offset, so clients can check what they got.
uint8_t firmware_byte(uint64_t offset);
// The ETag of a package (the same in every block of it).
uint32_t firmware_etag(std::string_view version, uint32_t size);

// The answer to a GET of a `size`-byte package: the block the request's Block2 option names
// (block 0 of 1024 bytes without one) as 2.05 with Block2, Size2 and ETag; 4.02 Bad Option for a
// block past the end or the reserved SZX 7 (RFC 7959). An ACK for a CON request, else
// a NON with `message_id`.
struct FirmwareBlockAnswer {
  std::span<const uint8_t> message;  // empty when it does not fit `out`
  uint8_t code = 0;
  uint32_t num = 0;  // the block number served (2.05 only)
};
FirmwareBlockAnswer build_firmware_block(const CoapMessage& request, uint16_t message_id,
                                         uint32_t size, uint32_t etag, std::span<uint8_t> out);

// Builds the CON request of a step into out (kDownload has none: the client does the work);
// `uri` is the package URI (kWriteUri). Empty span when it does not fit.
std::span<const uint8_t> build_firmware_request(FirmwareStep step, std::string_view uri,
                                                uint16_t message_id, const CoapToken& token,
                                                std::span<uint8_t> out);

// Parses a text/plain integer payload ("2"); false on anything else.
bool parse_text_integer(std::span<const uint8_t> payload, int64_t* out);

// Checks an answer: empty when it is what the step expects ("got 4.04", "got Update Result 8",
// ...). *state receives the State of a kObserveState answer.
std::string check_firmware_response(FirmwareStep step, const CoapMessage& response,
                                    std::string_view version, int64_t* state);

// Endpoints in a firmware campaign, shared by the server threads. An endpoint is claimed when its
// campaign starts; once the Execute goes out, the endpoint's next Register (on any thread)
// continues the campaign.
class FirmwareRollout {
 public:
  // Claims `endpoint`; false when it is in a campaign already.
  bool begin(std::string_view endpoint);
  // The Execute is going out; `started` is when the campaign started.
  void executing(std::string_view endpoint, TimeUs started, TimeUs now);
  // On a Register: true, with when the campaign started, when the endpoint's Execute went out;
  // the campaign then belongs to the new registration.
  bool take_rebooted(std::string_view endpoint, TimeUs* started);
  // Releases `endpoint`.
  void end(std::string_view endpoint);
  // Releases `endpoint` if its Execute went out at `executed_at` and no Register took the
  // campaign over since; false when one did (the campaign goes on there).
  bool cancel_executing(std::string_view endpoint, TimeUs executed_at);
  size_t size() const;

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    TimeUs started = 0;
    TimeUs executed_at = 0;
    bool executing = false;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  Shard& shard_of(std::string_view endpoint);

  std::array<Shard, kShards> shards_;
};

}  // namespace lwm2msim
