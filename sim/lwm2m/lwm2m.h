// lwm2m: LwM2M protocol pieces that sit above CoAP: paths, operation classification, endpoint
// names, registration requests and payloads, and the request dispatch of a client's data model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sim/coap/coap.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {

enum class Lwm2mVersion : uint8_t { k1_0, k1_1, k1_2 };
std::string_view to_string(Lwm2mVersion v);
bool parse_lwm2m_version(std::string_view text, Lwm2mVersion* out);

// /object/instance/resource/resource-instance; absent levels are kAbsent.
struct Lwm2mPath {
  static constexpr uint32_t kAbsent = UINT32_MAX;
  uint32_t object = kAbsent;
  uint32_t instance = kAbsent;
  uint32_t resource = kAbsent;
  uint32_t resource_instance = kAbsent;

  int depth() const;
  std::string to_string() const;
  friend bool operator==(const Lwm2mPath&, const Lwm2mPath&) = default;
};
// Whether `path` is `base` or lies below it.
bool is_under(const Lwm2mPath& path, const Lwm2mPath& base);
// Orders by object, instance, resource, resource instance; a path sorts after the paths below it
// (an absent level is kAbsent, above every id).
bool path_less(const Lwm2mPath& a, const Lwm2mPath& b);
// Parses "/3/0/9" style text; false on anything else (ids 0-65534 per the TS).
bool parse_lwm2m_path(std::string_view text, Lwm2mPath* out);
// Builds a path from a request's Uri-Path options; false when they are not an LwM2M path
// (an empty Uri-Path is the root path with depth 0).
bool lwm2m_path_from_request(const CoapMessage& request, Lwm2mPath* out);

// Server-to-client operations (LwM2M TS 1.1 sections 6.3, 6.4 and 8.2 table 8.2.x).
enum class Lwm2mOperation : uint8_t {
  kRead,
  kDiscover,
  kWrite,            // PUT: replace
  kWritePartial,     // POST on an instance: partial update
  kWriteAttributes,  // PUT with Uri-Query and no payload
  kExecute,          // POST on a resource
  kCreate,           // POST on an object
  kDelete,
  kObserve,
  kCancelObserve,
  kReadComposite,
  kObserveComposite,
  kWriteComposite,
  kUnknown,
};
std::string_view to_string(Lwm2mOperation op);
Lwm2mOperation classify_request(const CoapMessage& request, const Lwm2mPath& path);

// An endpoint-name pattern with one printf-style integer conversion: "sim-%06d", "meter-%d".
class EndpointPattern {
 public:
  // Empty string on success, else the reason.
  static std::string parse(std::string_view pattern, EndpointPattern* out);
  // Writes the name for `index` into out (64 bytes is always enough); returns its view.
  std::string_view format(uint64_t index, std::span<char> out) const;
  std::string format(uint64_t index) const;

 private:
  std::string prefix_;
  std::string suffix_;
  uint8_t width_ = 0;
  bool zero_pad_ = false;
};

// The most link-format bytes a device announces in a Register or Update. Neither goes block-wise,
// so the links share one kCoapMaxMessageSize datagram with the options: at most 119 bytes for a
// Register (a 64-byte endpoint name), and an Update's location, which servers keep short.
inline constexpr size_t kMaxRegistrationLinks = 1024;
// Whether a Register lists the object's instances: all but Security (0) and OSCORE (21), which
// LwM2M TS 1.1 section 6.2.1 keeps out.
constexpr bool announced_in_register(uint32_t object) {
  return object != 0 && object != 21;
}

struct RegistrationParams {
  std::string_view endpoint;
  uint32_t lifetime_s = 300;
  Lwm2mVersion version = Lwm2mVersion::k1_1;
  std::string_view binding = "U";
  std::string_view links;  // Profile::registration_links()
};

// POST /rd?ep=..&lt=..&lwm2m=..&b=.. with the link-format payload. Returns the message bytes in
// out, or an empty span when it does not fit. A `Q` in the binding is queue mode: LwM2M 1.0 says
// so in b= ("UQ"); 1.1 and later dropped Q from the binding for a `Q` parameter of its own.
std::span<const uint8_t> build_register(std::span<uint8_t> out, uint16_t message_id,
                                        const CoapToken& token, const RegistrationParams& params);
// POST /bs?ep=..[&pct=..] (Bootstrap-Request, LwM2M TS 1.1 5.2.7.1); pct (1.1 and later) is the
// content format the client prefers for the bootstrap server's writes, 0: none.
std::span<const uint8_t> build_bootstrap_request(std::span<uint8_t> out, uint16_t message_id,
                                                 const CoapToken& token, std::string_view endpoint,
                                                 uint16_t preferred_format);
// POST /{location} (Update) with optional lifetime and link payload when they changed.
std::span<const uint8_t> build_update(std::span<uint8_t> out, uint16_t message_id,
                                      const CoapToken& token, std::string_view location,
                                      uint32_t lifetime_s, std::string_view links);
// DELETE /{location}
std::span<const uint8_t> build_deregister(std::span<uint8_t> out, uint16_t message_id,
                                          const CoapToken& token, std::string_view location);

// Firmware Update (object 5) State and Update Result values (LwM2M TS 1.1 E.6).
namespace firmware {
inline constexpr int64_t kIdle = 0;
inline constexpr int64_t kDownloading = 1;
inline constexpr int64_t kDownloaded = 2;
inline constexpr int64_t kUpdating = 3;
inline constexpr int64_t kResultInitial = 0;
inline constexpr int64_t kResultSuccess = 1;
inline constexpr int64_t kResultConnectionLost = 4;
inline constexpr int64_t kResultIntegrity = 5;
inline constexpr int64_t kResultInvalidUri = 7;
inline constexpr int64_t kResultFailed = 8;
inline constexpr int64_t kResultUnsupportedProtocol = 9;
inline constexpr int64_t kResultCancelled = 10;
}  // namespace firmware

// A URI a server gives a client to fetch from (a firmware Package URI):
// "scheme://HOST[:PORT][/path]" with HOST an IPv4 literal or "localhost"; without a port, the
// scheme's (5683 for coap, 5684 for coaps, 0 otherwise).
struct ResourceUri {
  std::string_view scheme;  // "coap", "coaps", "http", ...
  Endpoint4 endpoint;
  std::string_view path;  // after the authority, without the leading '/'
};
// False when `uri` is not of that form (no scheme, an unknown host, a bad port).
bool parse_resource_uri(std::string_view uri, ResourceUri* out);

}  // namespace lwm2msim
