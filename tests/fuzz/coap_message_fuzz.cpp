// Fuzzes the CoAP parser: every accessor on what parses, then a rebuild with CoapWriter that must
// give back the same bytes (RFC 7252's option encoding is canonical) and the same message.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "sim/coap/coap.h"
#include "sim/lwm2m/lwm2m.h"
#include "tests/fuzz/fuzz_common.h"

namespace lwm2msim {
namespace {

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

using fuzz::check;

void walk_accessors(const CoapMessage& m) {
  const CoapToken token = m.token_value();
  check(token.length == m.token().size());
  check(token.as_u64() == CoapToken::from_u64(token.as_u64(), token.length).as_u64());
  static_cast<void>(m.is_request() || m.is_response() || m.is_empty());

  uint16_t previous = 0;
  for (const CoapOptionView& o : m.options()) {
    check(o.number >= previous);
    previous = o.number;
    check(m.find(o.number) != nullptr && m.count(o.number) > 0);
    static_cast<void>(o.as_uint());
    check(o.as_string().size() == o.value.size());
    static_cast<void>(CoapOption::is_known(o.number));
  }
  const uint16_t unknown = m.first_unknown_critical();
  check(unknown == 0 || (CoapOption::is_critical(unknown) && !CoapOption::is_known(unknown) &&
                         m.find(unknown) != nullptr));

  // Block options as the firmware download and the server read them (RFC 7959 2.2).
  for (const uint16_t number : {CoapOption::kBlock1, CoapOption::kBlock2}) {
    if (const CoapOptionView* block = m.find(number); block != nullptr) {
      const uint32_t v = block->as_uint();
      const uint32_t szx = v & 7;
      const uint32_t num = v >> 4;
      static_cast<void>(szx == 7 || num > (1u << 20));
    }
  }
  for (const uint16_t number :
       {CoapOption::kObserve, CoapOption::kContentFormat, CoapOption::kAccept, CoapOption::kSize1,
        CoapOption::kSize2, CoapOption::kMaxAge, CoapOption::kUriPort}) {
    if (const CoapOptionView* o = m.find(number); o != nullptr) {
      static_cast<void>(o->as_uint());
    }
  }

  // Path and query joins, into room enough and into too little.
  std::array<char, kCoapMaxMessageSize> big{};
  std::array<char, 4> small{};
  for (const uint16_t number : {CoapOption::kUriPath, CoapOption::kUriQuery,
                                CoapOption::kLocationPath, CoapOption::kLocationQuery}) {
    bool ok = false;
    const std::string_view joined = m.join(number, big, &ok);
    check(ok);
    check(joined.size() <= big.size());
    bool small_ok = true;
    const std::string_view partial = m.join(number, small, &small_ok);
    check(small_ok ? partial == joined : partial.empty());
  }

  Lwm2mPath path;
  if (lwm2m_path_from_request(m, &path)) {
    static_cast<void>(classify_request(m, path));
    static_cast<void>(path.to_string());
  }
}

void rebuild(std::span<const uint8_t> input, const CoapMessage& m) {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  CoapWriter w(buf);
  w.header(m.type(), m.code(), m.message_id(), m.token());
  for (const CoapOptionView& o : m.options()) {
    w.option(o.number, o.value);
  }
  if (!m.payload().empty()) {
    w.payload(m.payload());
  }
  check(w.ok());
  const std::span<const uint8_t> bytes = w.finish();
  check(same_bytes(bytes, input));

  CoapMessage again;
  check(again.parse(bytes) == CoapParseError::kOk);
  check(again.type() == m.type() && again.code() == m.code() &&
        again.message_id() == m.message_id() && same_bytes(again.token(), m.token()) &&
        same_bytes(again.payload(), m.payload()) && again.options().size() == m.options().size());
  for (size_t i = 0; i < m.options().size(); ++i) {
    check(again.options()[i].number == m.options()[i].number &&
          same_bytes(again.options()[i].value, m.options()[i].value));
  }
}

}  // namespace
}  // namespace lwm2msim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwm2msim;
  const std::span<const uint8_t> input(data, size);
  CoapMessage m;
  const CoapParseError e = m.parse(input);
  static_cast<void>(to_string(e));
  if (e != CoapParseError::kOk) {
    return 0;
  }
  walk_accessors(m);
  rebuild(input, m);
  return 0;
}
