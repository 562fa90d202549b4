#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/cli/cli.h"
#include "sim/dm/data_model.h"
#include "sim/profile/profile.h"
#include "sim/scenario/scenario.h"
#include "sim/server/credentials.h"

namespace lwm2msim {
namespace {

// CLI11 validators for our value syntaxes, so errors name the option.
struct DurationValidator : CLI::Validator {
  DurationValidator() {
    name_ = "DURATION";
    func_ = [](const std::string& s) {
      TimeUs v = 0;
      return parse_duration(s, &v) ? std::string()
                                   : "'" + s + "' is not a duration (e.g. 30s, 250ms, 5m)";
    };
  }
};

TimeUs duration_of(const std::string& s) {
  TimeUs v = 0;
  parse_duration(s, &v);
  return v;
}

std::string parse_paths(const std::vector<std::string>& texts, std::vector<Lwm2mPath>* out) {
  out->clear();
  for (const std::string& t : texts) {
    Lwm2mPath p;
    if (!parse_lwm2m_path(t, &p) || p.depth() == 0) {
      return "'" + t + "' is not an LwM2M path like /3/0/9";
    }
    out->push_back(p);
  }
  return {};
}

struct ServerArgs {
  uint32_t threads = 1;
  double read_rate = 0;
  std::vector<std::string> read_paths{"/3/0/0", "/3/0/9", "/3/0/13"};
  double observe_fraction = 0;
  std::string observe_path = "/3/0/13";
  double exercise = 0;
  double exercise_rate = 2000;
  std::string queue_awake = "93s";
  double firmware = 0;
  double firmware_rate = 2000;
  uint32_t firmware_size = 65536;
  std::string firmware_version = "9.9.9";
  // coaps and the bootstrap role (add_server_security_options).
  bool dtls = false;
  std::string psk_seed;
  std::string psk_file;
  std::string certificate;
  std::string private_key;
  std::string ca;
  std::string ciphers;
  bool bootstrap = false;
  std::string bootstrap_server_uri;
  std::string bootstrap_psk_seed;
};

void add_server_options(CLI::App& app, ServerArgs& a, const std::string& prefix) {
  app.add_option(prefix + "threads", a.threads, "Built-in server threads")
      ->check(CLI::Range(1, 64));
  app.add_option(prefix + "read-rate", a.read_rate,
                 "Reads per second the server sends to registered clients")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option(prefix + "read-paths", a.read_paths, "Paths the server reads, in turn");
  app.add_option(prefix + "observe-fraction", a.observe_fraction,
                 "Fraction of clients the server observes after they register")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option(prefix + "observe-path", a.observe_path, "Path the server observes");
  app.add_option(prefix + "exercise", a.exercise,
                 "Fraction of newly registered clients the server walks through every LwM2M "
                 "operation, checking each answer")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option(prefix + "exercise-rate", a.exercise_rate,
                 "Exercise walks started per second at most (0: no cap)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option(prefix + "queue-awake", a.queue_awake,
                 "How long a queue-mode client is reachable after each message it sends")
      ->check(DurationValidator());
  app.add_option(prefix + "firmware", a.firmware,
                 "Fraction of newly registered clients with a Firmware Update object that the "
                 "server updates (pull over CoAP, package at /fw/VERSION)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option(prefix + "firmware-rate", a.firmware_rate,
                 "Firmware campaigns started per second at most (0: no cap)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option(prefix + "firmware-size", a.firmware_size, "Firmware package size, bytes")
      ->check(CLI::Range(1u, 1u << 30));
  app.add_option(prefix + "firmware-version", a.firmware_version,
                 "Firmware version the package carries (/3/0/3 after the update)");
}

void add_server_security_options(CLI::App& app, ServerArgs& a, const std::string& prefix) {
  app.add_flag(prefix + "dtls", a.dtls,
               "Speak coaps (DTLS 1.2) on the listen address; plain CoAP is dropped");
  app.add_option(prefix + "psk-seed", a.psk_seed,
                 "PSK of every client identity: derived from this seed (HMAC-SHA256)");
  app.add_option(prefix + "psk-file", a.psk_file,
                 "CSV of client PSKs: header endpoint,psk_identity,psk_key (key in hex)");
  app.add_option(prefix + "cert", a.certificate, "Server certificate (chain), PEM");
  app.add_option(prefix + "key", a.private_key, "Private key of --cert, PEM");
  app.add_option(prefix + "ca", a.ca,
                 "Trust anchor for client certificates, PEM (clients must then present one)");
  app.add_option(prefix + "ciphers", a.ciphers,
                 "OpenSSL cipher list (default: the LwM2M mandatory CCM_8 suites)");
  app.add_flag(prefix + "bootstrap", a.bootstrap,
               "Act as a bootstrap server: answer Bootstrap-Request (POST /bs) and provision one "
               "LwM2M server account; Register is refused");
  app.add_option(prefix + "bootstrap-server-uri", a.bootstrap_server_uri,
                 "The LwM2M server the bootstrap server provisions: coap://HOST:PORT (NoSec) or "
                 "coaps://HOST:PORT (PSK, identity = endpoint name)");
  app.add_option(prefix + "bootstrap-psk-seed", a.bootstrap_psk_seed,
                 "Seed of the PSKs provisioned for a coaps server (default: --psk-seed)");
}

// The coaps and bootstrap part of apply_server_args: checks the combination and builds the DTLS
// context. Errors name options, never keys.
std::string apply_server_security_args(const ServerArgs& a, ServerConfig* c) {
  const bool certificates = !a.certificate.empty() || !a.private_key.empty() || !a.ca.empty();
  if (!a.dtls) {
    if (!a.psk_file.empty() || certificates || !a.ciphers.empty()) {
      return "--psk-file, --cert, --key, --ca and --ciphers need --dtls";
    }
    if (!a.psk_seed.empty() && !a.bootstrap) {
      return "--psk-seed needs --dtls (or --bootstrap, whose provisioned keys it seeds)";
    }
  }
  if (a.bootstrap != !a.bootstrap_server_uri.empty()) {
    return a.bootstrap ? "--bootstrap needs --bootstrap-server-uri (the LwM2M server it provisions)"
                       : "--bootstrap-server-uri needs --bootstrap";
  }
  if (!a.bootstrap_psk_seed.empty() && !a.bootstrap) {
    return "--bootstrap-psk-seed needs --bootstrap";
  }
  if (a.bootstrap) {
    const std::string& uri = a.bootstrap_server_uri;
    const bool secure = uri.starts_with("coaps://");
    const size_t host = secure ? 8 : 7;
    if ((!secure && !uri.starts_with("coap://")) || uri.size() <= host) {
      return "--bootstrap-server-uri: '" + uri + "' is not coap://HOST:PORT or coaps://HOST:PORT";
    }
    c->bootstrap = true;
    c->bootstrap_config.server_uri = uri;
    c->bootstrap_config.psk_seed = a.bootstrap_psk_seed.empty() ? a.psk_seed : a.bootstrap_psk_seed;
    if (secure && c->bootstrap_config.psk_seed.empty()) {
      return "--bootstrap-server-uri coaps://... needs --bootstrap-psk-seed or --psk-seed (the "
             "keys it provisions)";
    }
  }
  if (!a.dtls) {
    return {};
  }
  if (a.certificate.empty() != a.private_key.empty()) {
    return "--cert and --key go together";
  }
  if (!a.ca.empty() && a.certificate.empty()) {
    return "--ca needs --cert and --key";
  }
  if (a.psk_seed.empty() && a.psk_file.empty() && a.certificate.empty()) {
    return "--dtls needs credentials: --psk-seed, --psk-file, or --cert and --key";
  }
  DtlsConfig d;
  d.role = DtlsRole::kServer;
  d.ciphers = a.ciphers;
  d.certificate_file = a.certificate;
  d.private_key_file = a.private_key;
  d.ca_file = a.ca;
  if (!a.psk_seed.empty() || !a.psk_file.empty()) {
    std::vector<PskEntry> entries;
    if (!a.psk_file.empty()) {
      if (std::string e = load_psk_file(a.psk_file, &entries); !e.empty()) {
        return "--psk-file " + a.psk_file + ": " + e;
      }
    }
    d.psk_lookup = make_psk_lookup(std::move(entries), a.psk_seed);
  }
  std::string error;
  c->dtls = DtlsContext::create(d, &error);
  if (!c->dtls) {
    return "--dtls: " + error;
  }
  return {};
}

std::string apply_server_args(const ServerArgs& a, ServerConfig* c) {
  c->threads = a.threads;
  c->read_rate = a.read_rate;
  c->observe_fraction = a.observe_fraction;
  c->exercise_fraction = a.exercise;
  c->exercise_rate = a.exercise_rate;
  c->queue_awake = duration_of(a.queue_awake);
  c->firmware_fraction = a.firmware;
  c->firmware_rate = a.firmware_rate;
  c->firmware_size = a.firmware_size;
  // One Uri-Path segment of the package URI.
  if (a.firmware_version.empty() ||
      a.firmware_version.find_first_of("/?#% ") != std::string::npos) {
    return "'" + a.firmware_version + "' is not a firmware version (no '/', '?', '#', '%', spaces)";
  }
  c->firmware_version = a.firmware_version;
  if (std::string e = parse_paths(a.read_paths, &c->read_paths); !e.empty()) {
    return e;
  }
  std::vector<Lwm2mPath> observe;
  if (std::string e = parse_paths({a.observe_path}, &observe); !e.empty()) {
    return e;
  }
  c->observe_path = observe.front();
  return apply_server_security_args(a, c);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "lwm2m-sim: %s\n", message.c_str());
  return static_cast<int>(ExitCode::kBadInput);
}

}  // namespace

int cli_main(int argc, char** argv) {
  CLI::App app{"lwm2m-sim: LwM2M device-fleet simulator and load tester"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "lwm2m-sim 0.1.0");
  const DurationValidator duration;

  // run
  CLI::App* run = app.add_subcommand("run", "Run a fleet of virtual clients against a server");
  RunOptions ro;
  uint64_t clients = 1000;
  double rate = 1000;
  uint32_t threads = 0;
  std::string duration_text = "30s";
  std::string local_addrs = "127.64.0.0/10";
  std::string pattern = "sim-%06d";
  uint64_t seed = 1;
  uint32_t lifetime = 300;
  std::string update_margin = "0";
  std::string version = "1.1";
  std::string ack_timeout = "2s";
  double random_factor = 1.5;
  uint32_t max_retransmit = 4;
  std::string stop_timeout = "15s";
  std::string backoff_base = "1s";
  std::string backoff_max = "60s";
  std::string io_coalesce = "1ms";
  std::string profile_path;
  std::string models_dir;
  uint32_t notify_con_every = 0;
  std::string sample_period = "1s";
  std::string reboot_delay = "5s";
  bool socket_per_client = false;
  ServerArgs run_server_args;
  run_server_args.read_rate = 50;
  run_server_args.observe_fraction = 0.1;
  run_server_args.exercise = 1.0;
  run->add_option("--server", ro.server_uri,
                  "LwM2M server URI, coap://HOST:PORT (default: built-in, in-process)");
  run->add_option("--clients,-n", clients, "Number of virtual clients")
      ->check(CLI::Range(uint64_t{1}, uint64_t{UINT32_MAX}));
  run->add_option("--rate,-r", rate, "Registrations started per second (0: all at once)")
      ->check(CLI::Range(0.0, 1e9));
  run->add_option("--duration,-d", duration_text, "How long the fleet runs before it de-registers")
      ->check(duration);
  run->add_option("--threads,-t", threads, "Worker threads (default: one per core)")
      ->check(CLI::Range(0, 1024));
  run->add_option(
      "--local-addrs", local_addrs,
      "Client source addresses: CIDR, IP list or ranges, optional :PORT or :FIRST-LAST");
  run->add_flag("--socket-per-client", socket_per_client,
                "One socket per client instead of many clients per socket");
  run->add_option("--endpoint-pattern", pattern,
                  "Endpoint names, with one %d for the client index");
  run->add_option("--seed", seed, "Seed for every random choice of the run");
  CLI::Option* lifetime_option =
      run->add_option("--lifetime", lifetime,
                      "Registration lifetime in seconds (default: the profile's /1/0/1, else 300)")
          ->check(CLI::Range(1u, 0x7fffffffu));
  std::string scenario_path;
  double scale = 1;
  double time_scale = 1;
  run->add_option("scenario", scenario_path,
                  "Scenario file (scenarios/*.yaml): its target, groups, phases and thresholds "
                  "replace --server, --clients, --rate, --duration and the device options");
  run->add_option("--scale", scale, "With a scenario: multiply device counts and rates")
      ->check(CLI::Range(1e-6, 1e6));
  run->add_option("--time-scale", time_scale, "With a scenario: multiply phase durations")
      ->check(CLI::Range(1e-6, 1e6));
  run->add_option("--profile,-p", profile_path,
                  "Device profile (YAML, see profiles/); default: a built-in generic sensor");
  run->add_option("--models", models_dir,
                  "Directory of OMA DDF XML object definitions to add to the built-in ones");
  run->add_option("--update-margin", update_margin,
                  "Send Updates this long before the lifetime ends (0: 10%)")
      ->check(duration);
  run->add_option("--lwm2m-version", version, "LwM2M version to register with")
      ->check(CLI::IsMember({"1.0", "1.1", "1.2"}));
  run->add_option("--ack-timeout", ack_timeout, "CoAP ACK_TIMEOUT")->check(duration);
  run->add_option("--ack-random-factor", random_factor, "CoAP ACK_RANDOM_FACTOR")
      ->check(CLI::Range(1.0, 10.0));
  run->add_option("--max-retransmit", max_retransmit, "CoAP MAX_RETRANSMIT")
      ->check(CLI::Range(0, 20));
  run->add_option("--stop-timeout", stop_timeout, "Bound on de-registering the fleet at the end")
      ->check(duration);
  run->add_option("--backoff-base", backoff_base,
                  "Retry delay after a failed exchange; it doubles with each further failure")
      ->check(duration);
  run->add_option("--backoff-max", backoff_max,
                  "Cap on the retry delay (each retry is drawn from the upper half of the delay)")
      ->check(duration);
  run->add_option("--io-coalesce", io_coalesce,
                  "When a worker's next timer is due within this, input is read at that tick "
                  "rather than on arrival (arrival times stay exact); 0: read on arrival")
      ->check(duration);
  run->add_option("--notify-con-every", notify_con_every,
                  "Every Nth notification is CON (0: all NON, 1: all CON)");
  run->add_option("--sample-period", sample_period,
                  "How often observed values are checked for change (epmin/epmax override it)")
      ->check(duration);
  run->add_option("--reboot-delay", reboot_delay,
                  "After Execute /3/0/4 a client registers again this much later")
      ->check(duration);
  add_server_options(*run, run_server_args, "--server-");
  RunSecurity& security = ro.security;
  std::string psk_key_hex;
  run->add_flag("--dtls", security.builtin_dtls,
                "The built-in server speaks coaps (DTLS 1.2); devices need --psk-* credentials");
  run->add_option("--psk-id", security.dtls.psk_id,
                  "Devices' PSK identity pattern, e.g. 'dev-%06d' (default: the endpoint name)");
  run->add_option("--psk-seed", security.dtls.psk_seed,
                  "Derive each device's PSK from its identity: HMAC-SHA256(SEED, identity), "
                  "first 16 bytes (the built-in server derives the same keys)");
  run->add_option("--psk-key", psk_key_hex, "One PSK for every device, in hex");
  run->add_option("--cert", security.dtls.certificate, "Devices' X.509 certificate (PEM)")
      ->check(CLI::ExistingFile);
  run->add_option("--key", security.dtls.private_key, "... and its private key (PEM)")
      ->check(CLI::ExistingFile);
  run->add_option("--ca", security.dtls.ca, "Trust anchor for the server's certificate (PEM)")
      ->check(CLI::ExistingFile);
  run->add_option("--ciphers", security.dtls.ciphers,
                  "OpenSSL cipher list (default: the LwM2M mandatory suites, PSK-AES128-CCM8 or "
                  "ECDHE-ECDSA-AES128-CCM8)");
  run->add_option("--bootstrap", security.bootstrap_uri,
                  "Bootstrap first: 'builtin' (an in-process bootstrap server provisions the "
                  "built-in server) or coap(s)://HOST:PORT");
  std::string metrics = "127.0.0.1:9464";
  std::vector<std::string> thresholds;
  std::vector<std::string> abort_thresholds;
  run->add_option("--metrics", metrics, "Prometheus metrics at http://ADDR:PORT/metrics, or 'off'");
  run->add_option("--report", ro.report_path,
                  "Write a JSON report of every summary metric and threshold");
  run->add_option("--junit", ro.junit_path,
                  "Write a JUnit XML file with one test case per threshold");
  run->add_option(
      "--threshold", thresholds,
      "Pass/fail condition on a summary metric, e.g. 'registration_latency.p99 < 200ms'; "
      "a failure makes the exit code 99");
  run->add_option("--threshold-abort", abort_thresholds,
                  "Like --threshold, and a failure during the run stops it early");

  // validate
  CLI::App* validate = app.add_subcommand(
      "validate", "Check scenario and device profile files and report every error in them");
  std::vector<std::string> validate_files;
  std::string validate_models;
  validate
      ->add_option("FILE", validate_files,
                   "Scenarios (scenarios/*.yaml) and device profiles (profiles/*.yaml)")
      ->required();
  validate->add_option("--models", validate_models,
                       "Directory of OMA DDF XML object definitions to add to the built-in ones");

  // server
  CLI::App* srv = app.add_subcommand("server", "Run the built-in LwM2M server standalone");
  std::string listen = "127.0.0.1:5683";
  uint64_t server_seed = 1;
  ServerArgs server_args;
  srv->add_option("--listen,-l", listen, "Address to listen on, IPv4:PORT (port 0: any free port)");
  srv->add_option("--seed", server_seed, "Seed for the server's random choices");
  std::string server_models;
  srv->add_option("--models", server_models,
                  "Directory of OMA DDF XML object definitions (types for payloads it builds)");
  add_server_options(*srv, server_args, "--");
  add_server_security_options(*srv, server_args, "--");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  }

  if (validate->parsed()) {
    return run_validate(validate_files, validate_models);
  }
  if (run->parsed()) {
    FleetConfig& f = ro.fleet;
    f.clients = clients;
    f.rate = rate;
    f.threads = threads;
    f.seed = seed;
    f.socket_per_client = socket_per_client;
    f.stop_timeout = duration_of(stop_timeout);
    f.io_coalesce = duration_of(io_coalesce);
    f.notify_con_every = notify_con_every;
    f.sample_period = std::max<TimeUs>(duration_of(sample_period), kUsPerMs);
    f.reboot_delay = duration_of(reboot_delay);
    ObjectRegistry registry = ObjectRegistry::builtin();
    if (!models_dir.empty()) {
      if (std::string e = registry.load_directory(models_dir); !e.empty()) {
        return fail("--models " + models_dir + ":\n" + e);
      }
    }
    ro.server.registry = std::make_shared<const ObjectRegistry>(registry);
    if (profile_path.empty()) {
      f.profile = builtin_profile(registry);
    } else {
      auto profile = std::make_shared<Profile>();
      if (std::string e = load_profile(profile_path, registry, profile.get()); !e.empty()) {
        return fail("--profile " + profile_path + ":\n" + e);
      }
      f.profile = std::move(profile);
    }
    if (lifetime_option->count() == 0) {
      const uint32_t from_profile = DataModel(f.profile, 0, 0).profile_lifetime();
      lifetime = from_profile != 0 ? from_profile : lifetime;
    }
    if (std::string e = AddressPlan::parse(local_addrs, &f.local_addrs); !e.empty()) {
      return fail("--local-addrs: " + e);
    }
    if (std::string e = EndpointPattern::parse(pattern, &f.client.endpoint_pattern); !e.empty()) {
      return fail("--endpoint-pattern: " + e);
    }
    parse_lwm2m_version(version, &f.client.version);
    f.client.lifetime_s = lifetime;
    f.client.update_margin = duration_of(update_margin);
    if (f.client.update_margin >= TimeUs{lifetime} * kUsPerSec) {
      return fail("--update-margin must be shorter than --lifetime");
    }
    f.client.coap.ack_timeout = duration_of(ack_timeout);
    if (f.client.coap.ack_timeout < kUsPerMs) {
      return fail("--ack-timeout must be at least 1ms");
    }
    f.client.coap.ack_random_factor = random_factor;
    f.client.coap.max_retransmit = max_retransmit;
    f.client.backoff_base = duration_of(backoff_base);
    f.client.backoff_max = duration_of(backoff_max);
    if (f.client.backoff_base < kUsPerMs || f.client.backoff_max < f.client.backoff_base) {
      return fail("--backoff-base must be at least 1ms and --backoff-max at least --backoff-base");
    }
    ro.duration = duration_of(duration_text);
    ro.metrics_address = metrics == "off" ? std::string() : metrics;
    if (Endpoint4 ep; !ro.metrics_address.empty() && !parse_endpoint(ro.metrics_address, &ep)) {
      return fail("--metrics: '" + metrics + "' is not IPv4:PORT or 'off'");
    }
    for (const auto* list : {&thresholds, &abort_thresholds}) {
      for (const std::string& text : *list) {
        Threshold t;
        if (std::string e = parse_threshold(text, &t); !e.empty()) {
          return fail(e);
        }
        t.abort_on_fail = list == &abort_thresholds;
        ro.thresholds.push_back(std::move(t));
      }
    }
    for (int i = 0; i < argc; ++i) {
      ro.command_line += (i == 0 ? "" : " ");
      ro.command_line += argv[i];
    }
    if (!psk_key_hex.empty()) {
      const auto key = parse_hex_key(psk_key_hex);
      if (!key) {
        return fail("--psk-key must be hex digits, an even number of them");
      }
      security.dtls.psk_key = *key;
    }
    if (!security.dtls.psk_key.empty() && !security.dtls.psk_seed.empty()) {
      return fail("give --psk-key or --psk-seed, not both");
    }
    if (security.dtls.certificate.empty() != security.dtls.private_key.empty()) {
      return fail("--cert and --key go together");
    }
    ro.server.seed = seed;
    ro.server.listen = Endpoint4{0x7f000001, 0};
    if (std::string e = apply_server_args(run_server_args, &ro.server); !e.empty()) {
      return fail(e);
    }
    if (!scenario_path.empty()) {
      ScenarioPlan plan;
      if (std::string e = load_scenario(scenario_path, registry, &plan); !e.empty()) {
        return fail(scenario_path + ":\n" + e);
      }
      std::vector<Threshold> from_flags = std::move(ro.thresholds);
      if (std::string e = scenario_run_options(plan, scale, time_scale, &ro); !e.empty()) {
        return fail(scenario_path + ":\n" + e);
      }
      ro.thresholds.insert(ro.thresholds.end(), from_flags.begin(), from_flags.end());
      ro.fleet.rate = 0;
    }
    return run_fleet(ro);
  }
  ServerConfig sc;
  if (!parse_endpoint(listen, &sc.listen)) {
    return fail("--listen: '" + listen + "' is not IPv4:PORT");
  }
  sc.seed = server_seed;
  if (!server_models.empty()) {
    ObjectRegistry registry = ObjectRegistry::builtin();
    if (std::string e = registry.load_directory(server_models); !e.empty()) {
      return fail("--models " + server_models + ":\n" + e);
    }
    sc.registry = std::make_shared<const ObjectRegistry>(std::move(registry));
  }
  if (std::string e = apply_server_args(server_args, &sc); !e.empty()) {
    return fail(e);
  }
  return run_server(sc);
}

}  // namespace lwm2msim
