#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/model/object_definition.h"

namespace lwm2msim {
namespace {

// The registry is checked out beside the repository; this file is <repo>/bench/ddf_bench.cpp.
// LWM2MSIM_REGISTRY_DIR in the environment overrides it.
std::string registry_dir() {
  if (const char* env = std::getenv("LWM2MSIM_REGISTRY_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  const std::filesystem::path repo = std::filesystem::path(__FILE__).parent_path().parent_path();
  return (repo.parent_path() / "shared" / "lwm2m-registry").string();
}

// Whole OMA registry (about 330 files, 4 MB): what a fleet start-up with --ddf-dir pays.
void BM_DdfLoadRegistryDirectory(benchmark::State& state) {
  const std::string dir = registry_dir();
  if (!std::filesystem::is_directory(dir)) {
    state.SkipWithError(("OMA registry not found at " + dir).c_str());
    return;
  }
  size_t objects = 0;
  for (auto _ : state) {
    ObjectRegistry registry;
    const std::string errors = registry.load_directory(dir);
    if (!errors.empty()) {
      state.SkipWithError(errors.c_str());
      break;
    }
    objects = registry.size();
    benchmark::DoNotOptimize(registry);
  }
  state.counters["objects"] = static_cast<double>(objects);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * objects));
}
BENCHMARK(BM_DdfLoadRegistryDirectory)->Unit(benchmark::kMillisecond);

// Parsing alone, files already in memory: separates XML and model work from file I/O.
void BM_DdfParseRegistryInMemory(benchmark::State& state) {
  const std::string dir = registry_dir();
  if (!std::filesystem::is_directory(dir)) {
    state.SkipWithError(("OMA registry not found at " + dir).c_str());
    return;
  }
  std::vector<std::string> docs;
  int64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".xml") {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream buf;
      buf << in.rdbuf();
      docs.push_back(std::move(buf).str());
      bytes += static_cast<int64_t>(docs.back().size());
    }
  }
  for (auto _ : state) {
    std::vector<ObjectDefinition> defs;
    for (const std::string& doc : docs) {
      benchmark::DoNotOptimize(parse_ddf(doc, "registry", &defs));
    }
    benchmark::DoNotOptimize(defs.data());
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_DdfParseRegistryInMemory)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lwm2msim
