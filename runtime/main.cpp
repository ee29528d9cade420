// The `grace` executable: command line -> command -> exit code (SPEC.md
// section 1: 0 success, 2 usage error or invalid config, 3 the root
// supervisor gave up).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/node.hpp"
#include "config/cluster.hpp"
#include "config/loader.hpp"
#include "config/support.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/cli.hpp"
#include "runtime/control_server.hpp"
#include "runtime/guardian.hpp"
#include "runtime/incident_report.hpp"
#include "runtime/logging.hpp"
#include "runtime/signals.hpp"
#include "runtime/status_view.hpp"

namespace {

using grace::config::config_error;

void print_errors(const std::vector<config_error>& errors,
                  const std::string& file) {
  for (auto& e : errors)
    std::cerr << to_string(e) << '\n';
  std::cerr << "grace: " << errors.size()
            << (errors.size() == 1 ? " error" : " errors") << " in " << file
            << '\n';
}

// Loads CONFIG as node `node` of its cluster (empty: cluster.node, or no
// cluster at all; or, unless `need_node`, a cluster's file that names no
// node); prints what is wrong and returns nothing then.
std::optional<grace::config::grace_config>
load_as_node(const std::string& file, const std::string& node, bool need_node) {
  auto result = grace::config::load_file(file);
  if (!result.config) {
    print_errors(result.errors, file);
    return std::nullopt;
  }
  auto& cluster = result.config->cluster;
  if (!need_node && node.empty() && cluster && cluster->node.empty())
    return std::move(result.config);
  if (auto wrong = grace::config::choose_node(*result.config, node);
      !wrong.empty()) {
    print_errors(wrong, file);
    return std::nullopt;
  }
  return std::move(result.config);
}

// Whether a child has `limits.memory`: only then does grace ask for the
// memory controller (and move out of its cgroup if it must).
bool wants_memory(const grace::config::grace_config& cfg) {
  bool wanted = false;
  grace::config::for_each_child(cfg.root, [&](auto& child) {
    for (auto& l : child.limits)
      wanted = wanted || l.resource < 0;
  });
  return wanted;
}

int execute(const grace::runtime::check_command& cmd) {
  auto loaded = load_as_node(cmd.config, cmd.node, false);
  if (!loaded)
    return 2;
  auto& cfg = *loaded;
  std::cout << cmd.config << ": ok (" << grace::config::count_children(cfg.root)
            << " processes, " << grace::config::count_supervisors(cfg.root)
            << " supervisors, " << cfg.playbooks.size() << " playbooks)\n";
  if (cfg.cluster)
    std::cout << "cluster of " << cfg.cluster->nodes.size() << " nodes, "
              << (cfg.cluster->node.empty()
                    ? "no node named (grace run needs --node NAME)"
                    : "this one " + cfg.cluster->node)
              << "; config digest " << cfg.digest << "\n";
  return 0;
}

int execute(const grace::runtime::run_command& cmd) {
  // Before any thread exists, so that every thread inherits the mask.
  grace::runtime::block_signals();
  auto loaded = load_as_node(cmd.config, cmd.node, true);
  if (!loaded)
    return 2;
  auto& cfg = *loaded;
  // Containment, and the guardian that acts if grace is SIGKILLed: before
  // any thread exists (the guardian is forked).
  grace::actors::run_options opts;
  if (auto* off = std::getenv("GRACE_CGROUPS");
      off && std::string{off} == "off")
    opts.no_containment = "GRACE_CGROUPS=off";
  else
    opts.containment = grace::runtime::containment::open(
      cfg.log_dir, &opts.no_containment, wants_memory(cfg));
  if (auto unsupported = grace::config::unsupported_for_run(
        cfg, opts.containment ? opts.containment->no_memory()
                              : "no cgroups: " + opts.no_containment);
      !unsupported.empty()) {
    if (opts.containment) {
      opts.containment->remove_empty();
      opts.containment->give_back({});
    }
    print_errors(unsupported, cmd.config);
    return 2;
  }
  std::string no_guardian;
  if (!grace::runtime::start_guardian(opts.containment ? opts.containment->dir()
                                                       : std::string{},
                                      &no_guardian))
    std::cerr << "grace: cannot start the guardian (" << no_guardian
              << "): components may outlive a SIGKILLed grace\n";
  if (auto err = grace::runtime::setup_logging(cfg.log_dir); !err.empty())
    std::cerr << "grace: cannot write " << cfg.log_dir << "/grace.log: " << err
              << '\n';
  if (cmd.run_for.count() > 0)
    opts.run_for = cmd.run_for;
  opts.config_file = cmd.config;
  auto started = std::chrono::steady_clock::now();
  std::shared_ptr<grace::actors::run_report> report;
  auto code = grace::actors::run_tree(cfg, opts, &report);
  if (opts.containment)
    opts.containment->give_back({grace::runtime::guardian_pid()});
  grace::runtime::shutdown_logging(); // every log line out before the report
  if (report)
    report->print(std::cout,
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started));
  return code;
}

int execute(const grace::runtime::incidents_command& cmd) {
  std::int64_t since_us = 0;
  if (cmd.since.count() > 0)
    since_us
      = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch() - cmd.since)
          .count();
  // Each log read on its own (its warnings name it), then merged.
  grace::runtime::incident_summary summary;
  std::string source;
  for (auto& log : cmd.logs) {
    try {
      auto one = grace::runtime::summarize(log, since_us);
      grace::runtime::warn_unreadable(std::cerr, one, log);
      summary.merge(one);
    } catch (const std::system_error& e) {
      std::cerr << "grace: cannot read the audit log " << log << ": "
                << e.code().message() << '\n';
      return 1;
    }
    source += (source.empty() ? "" : ", ") + log;
  }
  if (cmd.json)
    std::cout << grace::runtime::report_json(summary, source) << '\n';
  else
    grace::runtime::print_report(std::cout, summary, source,
                                 ::isatty(STDOUT_FILENO) == 1);
  return 0;
}

// Asks the running grace (SPEC.md section 1: status 0, or 1 if no grace
// answers; start/stop/restart 0 ok, 1 error).
int execute(const grace::runtime::control_command& cmd) {
  auto socket = cmd.socket;
  if (socket.empty()) {
    auto* env = std::getenv("GRACE_CONTROL");
    socket = env && *env ? env : grace::runtime::default_control_socket;
  }
  nlohmann::json req{{"cmd", cmd.verb}};
  if (!cmd.path.empty())
    req["path"] = cmd.path;
  std::string err;
  if (cmd.verb == "events") {
    bool first = true;
    auto ok = grace::runtime::control_stream(
      socket, req.dump(),
      [&](const std::string& line) {
        if (first) { // {"ok":true,"stream":"events"}, or why not
          first = false;
          auto j = nlohmann::json::parse(line, nullptr, false);
          if (j.is_object() && j.value("ok", false))
            return true;
          err = j.is_object() ? j.value("error", line) : line;
          return false;
        }
        std::cout << (cmd.json ? line : grace::runtime::render_event(line))
                  << std::endl; // as it happens
        return true;
      },
      &err);
    if (!ok || !err.empty()) {
      std::cerr << "grace: " << err << '\n';
      return 1;
    }
    return 0;
  }
  // A stop waits for the component's `shutdown`, a start (and a reload)
  // for readiness.
  auto timeout = cmd.verb == "status" || cmd.verb == "shutdown"
                   ? std::chrono::seconds{15}
                   : std::chrono::seconds{330};
  auto answer
    = grace::runtime::control_request(socket, req.dump(), timeout, &err);
  if (answer.empty()) {
    std::cerr << "grace: " << err << '\n';
    return 1;
  }
  auto j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::cerr << "grace: not an answer: " << answer << '\n';
    return 1;
  }
  if (!j.value("ok", false)) {
    if (j.contains("errors") && j["errors"].is_array()) {
      // An invalid config: nothing was changed.
      for (auto& e : j["errors"])
        std::cerr << (e.is_string() ? e.get<std::string>() : e.dump()) << '\n';
      std::cerr << "grace: the config was not applied; nothing changed\n";
      return 2;
    }
    std::cerr << "grace: " << j.value("error", std::string{"failed"}) << '\n';
    return 1;
  }
  if (cmd.verb == "reload") {
    auto list = [&](const char* key) {
      std::string out;
      if (j.contains(key))
        for (auto& p : j[key])
          out += (out.empty() ? "" : ", ") + p.get<std::string>();
      return out.empty() ? std::string{"-"} : out;
    };
    std::cout << "reloaded: added " << list("added") << "; removed "
              << list("removed") << "; changed " << list("changed")
              << "; retuned " << list("retuned") << '\n';
    return 0;
  }
  if (cmd.verb == "status") {
    if (cmd.json)
      std::cout << answer << '\n';
    else
      std::cout << grace::runtime::render_status(answer,
                                                 ::isatty(STDOUT_FILENO) == 1);
    return 0;
  }
  if (cmd.verb == "shutdown")
    std::cout << "grace is shutting down\n";
  else
    std::cout << cmd.path << ": "
              << (cmd.verb == "stop"    ? "stopped"
                  : cmd.verb == "start" ? "started"
                                        : "restarted")
              << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  auto outcome = grace::runtime::parse_cli(args);
  if (!outcome.options) {
    (outcome.is_error ? std::cerr : std::cout) << outcome.text << std::flush;
    return outcome.exit_code;
  }
  return std::visit([](auto& cmd) { return execute(cmd); },
                    outcome.options->command);
}
