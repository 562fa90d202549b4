// Fuzzes the opaque content-format decoder and its round trip through the encoder.
#include <cstddef>
#include <cstdint>

#include "sim/format/format.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lwm2msim::fuzz::fuzz_codec(data, size, lwm2msim::decode_opaque, lwm2msim::encode_opaque);
  return 0;
}
