// cli: the lwm2m-sim command line: `run` drives a fleet (with an in-process server unless
// --server is given), `server` runs the built-in server standalone. Progress and summary live here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/fleet/fleet.h"
#include "sim/server/server.h"
#include "sim/util/time.h"

namespace lwm2msim {

// Named process exit codes.
enum class ExitCode : int {
  kOk = 0,
  kRuntimeError = 1,   // the run could not be carried out (sockets, server failed)
  kBadInput = 2,       // bad arguments or files
  kInterrupted = 130,  // a second Ctrl-C
};

// "30s", "250ms", "5m", "1h", "1.5s", or a bare number of seconds. False on anything else.
bool parse_duration(std::string_view text, TimeUs* out);
std::string format_duration(TimeUs us);
// "coap://HOST[:PORT]"; HOST is an IPv4 literal or localhost. Empty on success, else the reason.
std::string parse_server_uri(std::string_view uri, Endpoint4* out);

struct RunOptions {
  FleetConfig fleet;
  std::string server_uri;  // empty: in-process server
  TimeUs duration = 30 * kUsPerSec;
  ServerConfig server;  // for the in-process server
  TimeUs progress_interval = kUsPerSec;
};

int run_fleet(const RunOptions& options);
int run_server(const ServerConfig& config);

// Progress and summary text (used by the commands; separate so they can be tested).
std::string progress_line(TimeUs elapsed, const FleetSnapshot& now, const FleetSnapshot& before,
                          TimeUs interval, uint64_t clients);
std::string summary_text(const RunOptions& options, const FleetSnapshot& s, TimeUs elapsed,
                         const ServerSnapshot* server);

int cli_main(int argc, char** argv);

}  // namespace lwm2msim
