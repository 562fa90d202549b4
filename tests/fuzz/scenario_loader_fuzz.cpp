// Fuzzes the scenario loader on arbitrary text against the built-in registry. Profiles named by
// a scenario are read relative to the shipped scenarios (once each), so the seeds load real ones. A
// document that loads must describe a run (devices and phases); one that does not must say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sim/scenario/scenario.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwm2msim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static_cast<void>(is_profile_document(text));
  // The shipped profiles a scenario names are fixed files: each is loaded once, not per input.
  static ProfileCache profiles;
  ScenarioPlan plan;
  const std::string errors = load_scenario_text(text, "fuzz.yaml", LWM2MSIM_SCENARIOS_DIR,
                                                fuzz::registry(), &plan, &profiles);
  if (errors.empty()) {
    static_cast<void>(plan.duration());
    static_cast<void>(plan.total_devices());
    static_cast<void>(format_file_duration(plan.duration()));
  }
  return 0;
}
