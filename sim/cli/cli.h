// cli: the lwm2m-sim command line: `run` drives a fleet (with an in-process server unless
// --server is given), `server` runs the built-in server standalone. Progress and summary live here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/fleet/fleet.h"
#include "sim/report/report.h"
#include "sim/scenario/scenario.h"
#include "sim/server/server.h"
#include "sim/util/time.h"

namespace lwm2msim {

// Named process exit codes.
enum class ExitCode : int {
  kOk = 0,
  kRuntimeError = 1,       // the run could not be carried out (sockets, server failed)
  kBadInput = 2,           // bad arguments or files
  kThresholdsFailed = 99,  // the run completed but a threshold failed (k6's convention)
  kInterrupted = 130,      // a second Ctrl-C
};

// "30s", "250ms", "5m", "1h", "1.5s", or a bare number of seconds. False on anything else.
bool parse_duration(std::string_view text, TimeUs* out);
// "coap://HOST[:PORT]" or "coaps://HOST[:PORT]"; HOST is an IPv4 literal or localhost. Empty on
// success, else the reason.
std::string parse_server_uri(std::string_view uri, Endpoint4* out);

// coaps and bootstrap for a run.
struct RunSecurity {
  DtlsPlan dtls;              // the devices' credentials and cipher suites
  bool builtin_dtls = false;  // the in-process servers speak coaps
  // Devices bootstrap first: "builtin" (an in-process bootstrap server that provisions the
  // in-process LwM2M server) or a coap(s):// URI; empty: no bootstrap.
  std::string bootstrap_uri;
};

struct RunOptions {
  FleetConfig fleet;
  std::string server_uri;  // empty: in-process server
  RunSecurity security;
  TimeUs duration = 30 * kUsPerSec;
  ServerConfig server;  // for the in-process server
  TimeUs progress_interval = kUsPerSec;
  // Prometheus exposition address; empty turns it off.
  std::string metrics_address = "127.0.0.1:9464";
  std::string report_path;  // --report FILE.json
  std::string junit_path;   // --junit FILE.xml
  std::vector<Threshold> thresholds;
  std::string command_line;
};

// Builds what coaps and bootstrap need before a run: the fleet's DTLS context, flags and PSKs
// (fleet->server_uri set), the in-process LwM2M server's DTLS side (`server`, when
// `builtin_server`), and for a built-in bootstrap the in-process bootstrap server's config
// (`bootstrap`, whose bootstrap_config.server_uri holds just the scheme: the caller appends the
// LwM2M server's address once it listens). Empty on success, else the reason.
std::string prepare_security(const RunSecurity& security, bool builtin_server, FleetConfig* fleet,
                             ServerConfig* server, ServerConfig* bootstrap);

struct ScenarioPlan;
// Turns a validated scenario into run options, with device counts and rates times `scale` and
// durations times `time_scale` (for reduced runs). Empty on success, else every part of the plan
// this build cannot run yet, one per line as "FILE:LINE: FIELD: reason".
std::string scenario_run_options(const ScenarioPlan& plan, double scale, double time_scale,
                                 RunOptions* ro);

int run_fleet(const RunOptions& options);
int run_server(const ServerConfig& config);
// Loads each scenario (or, when its top level has `objects:`, device profile) and prints a
// one-line summary of each good one and every problem of the others; exit 2 (kBadInput) when any
// file has a problem, each profile checked once however many scenarios name it.
int run_validate(const std::vector<std::string>& paths, const std::string& models_dir);

int cli_main(int argc, char** argv);

}  // namespace lwm2msim
