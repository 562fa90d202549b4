// Fuzzes the device profile loader on arbitrary text against the built-in registry; CSV files a
// profile names are read relative to the shipped profiles. What loads must serve as a data model:
// its registration links parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sim/format/format.h"
#include "sim/profile/profile.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwm2msim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Profile profile;
  const std::string errors =
      load_profile_text(text, "fuzz.yaml", LWM2MSIM_PROFILES_DIR, fuzz::registry(), &profile);
  if (errors.empty()) {
    std::vector<Link> links;
    std::string error;
    const std::string announced = profile.registration_links(profile.registration_instances());
    if (announced.size() > kMaxRegistrationLinks || !decode_links(announced, &links, &error)) {
      std::abort();
    }
  }
  return 0;
}
