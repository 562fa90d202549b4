// `lwm2m-sim validate FILE`: loads a scenario, or a device profile, and reports every problem in
// it without starting anything.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "sim/cli/cli.h"
#include "sim/profile/profile.h"
#include "sim/scenario/scenario.h"

namespace lwm2msim {
namespace {

std::string counted(uint64_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

int bad_input(const std::string& errors) {
  std::fprintf(stderr, "%s\n", errors.c_str());
  return static_cast<int>(ExitCode::kBadInput);
}

}  // namespace

int run_validate(const std::string& path, const std::string& models_dir) {
  ObjectRegistry registry = ObjectRegistry::builtin();
  if (!models_dir.empty()) {
    if (std::string e = registry.load_directory(models_dir); !e.empty()) {
      return bad_input("lwm2m-sim: --models " + models_dir + ":\n" + e);
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return bad_input(path + ":0:0: file: cannot read the file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (is_profile_document(text.str())) {
    Profile profile;
    if (std::string e = load_profile(path, registry, &profile); !e.empty()) {
      return bad_input(e);
    }
    std::printf("%s: ok (profile %s, %s, %s)\n", path.c_str(), profile.name().c_str(),
                counted(profile.instances().size(), "instance").c_str(),
                counted(profile.resources().size(), "resource").c_str());
    return static_cast<int>(ExitCode::kOk);
  }
  ScenarioPlan plan;
  if (std::string e = load_scenario(path, registry, &plan); !e.empty()) {
    return bad_input(e);
  }
  std::printf(
      "%s: ok (%s, %s, %s, %s total)\n", path.c_str(), counted(plan.groups.size(), "group").c_str(),
      counted(plan.total_devices(), "device").c_str(), counted(plan.phases.size(), "phase").c_str(),
      format_file_duration(plan.duration()).c_str());
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace lwm2msim
