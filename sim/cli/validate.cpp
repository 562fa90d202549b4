// `lwm2m-sim validate FILE...`: loads each scenario or device profile and reports every problem
// in them without starting anything.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/cli/cli.h"
#include "sim/profile/profile.h"
#include "sim/scenario/scenario.h"

namespace lwm2msim {
namespace {

std::string counted(uint64_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// One file: its `ok` line on stdout, or every problem on stderr. False when it has problems.
bool validate_one(const std::string& path, const ObjectRegistry& registry, ProfileCache& profiles) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s:0:0: file: cannot read the file\n", path.c_str());
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (is_profile_document(text.str())) {
    const ProfileCache::Entry& loaded =
        profiles.load(std::filesystem::path(path).lexically_normal().string(), registry);
    if (!loaded.errors.empty()) {
      std::fprintf(stderr, "%s\n", loaded.errors.c_str());
      return false;
    }
    const Profile& profile = *loaded.profile;
    std::printf("%s: ok (profile %s, %s, %s)\n", path.c_str(), profile.name().c_str(),
                counted(profile.instances().size(), "instance").c_str(),
                counted(profile.resources().size(), "resource").c_str());
    return true;
  }
  ScenarioPlan plan;
  if (std::string e = load_scenario(path, registry, &plan, &profiles); !e.empty()) {
    std::fprintf(stderr, "%s\n", e.c_str());
    return false;
  }
  std::printf(
      "%s: ok (%s, %s, %s, %s total)\n", path.c_str(), counted(plan.groups.size(), "group").c_str(),
      counted(plan.total_devices(), "device").c_str(), counted(plan.phases.size(), "phase").c_str(),
      format_file_duration(plan.duration()).c_str());
  return true;
}

}  // namespace

int run_validate(const std::vector<std::string>& paths, const std::string& models_dir) {
  ObjectRegistry registry = ObjectRegistry::builtin();
  if (!models_dir.empty()) {
    if (std::string e = registry.load_directory(models_dir); !e.empty()) {
      std::fprintf(stderr, "lwm2m-sim: --models %s:\n%s\n", models_dir.c_str(), e.c_str());
      return static_cast<int>(ExitCode::kBadInput);
    }
  }
  // Profiles shared by several scenarios (and named on the command line) are checked once.
  ProfileCache profiles;
  bool all_ok = true;
  for (const std::string& path : paths) {
    all_ok = validate_one(path, registry, profiles) && all_ok;
  }
  std::fflush(stdout);
  return static_cast<int>(all_ok ? ExitCode::kOk : ExitCode::kBadInput);
}

}  // namespace lwm2msim
