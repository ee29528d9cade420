#include "runtime/cli.hpp"

#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "config/units.hpp"
#include "runtime/control_server.hpp"

#ifndef GRACE_VERSION
#  define GRACE_VERSION "0.0.0"
#endif

namespace grace::runtime {

std::string version_string() {
  return "grace " GRACE_VERSION;
}

cli_outcome parse_cli(const std::vector<std::string>& args) {
  CLI::App app{"Grace: a self-healing runtime that supervises programs the "
               "way Erlang/OTP supervises processes.",
               "grace"};
  app.set_version_flag("--version", version_string(), "Print the version");
  app.require_subcommand(1);
  app.fallthrough(false);

  check_command check;
  auto* check_cmd = app.add_subcommand(
    "check", "Validate a config file; print every problem as "
             "FILE:LINE:COL: error: MESSAGE (exit 0 valid, 2 invalid)");
  check_cmd->add_option("CONFIG", check.config, "The YAML config file")
    ->required();
  check_cmd->add_option("--node", check.node,
                        "This node of a cluster (overrides cluster.node)");

  run_command run;
  std::string run_for;
  auto* run_cmd = app.add_subcommand(
    "run", "Start the supervision tree of CONFIG and keep it running until "
           "SIGTERM/SIGINT (exit 0), or until the root supervisor gives up "
           "(exit 3); 2 if CONFIG is invalid");
  run_cmd->add_option("CONFIG", run.config, "The YAML config file")->required();
  run_cmd->add_option("--for", run_for,
                      "Stop by itself after DURATION (e.g. 20s, 5m)");
  run_cmd->add_option("--node", run.node,
                      "This node of a cluster (overrides cluster.node)");

  incidents_command incidents;
  std::string since;
  auto* incidents_cmd = app.add_subcommand(
    "incidents", "The evidence report: incidents, success rate, MTTR and "
                 "time to detect min/p50/p90/p99/max per failure mode and per "
                 "component, the slowest recoveries, an MTTR histogram");
  std::vector<std::string> logs;
  incidents_cmd->add_option("--log", logs,
                            "An audit log (default logs/incidents.jsonl); "
                            "more than once: merged, one per node");
  incidents_cmd->add_flag("--json", incidents.json,
                          "The same figures as JSON, for scripts");
  incidents_cmd->add_option(
    "--since", since, "Only incidents detected within DURATION (e.g. 1h)");

  control_command control;
  auto control_option = [&](CLI::App* cmd) {
    cmd->add_option("--control", control.socket,
                    std::string{"The control socket (default $GRACE_CONTROL, "
                                "else ./"}
                      + default_control_socket + ")");
  };
  auto* status_cmd = app.add_subcommand(
    "status", "The tree of a running grace: state, pid, uptime, restarts, "
              "last failure (exit 1 if no grace answers)");
  status_cmd->add_flag("--json", control.json, "As JSON, for scripts");
  control_option(status_cmd);
  std::vector<CLI::App*> path_cmds;
  for (auto [verb, what] :
       {std::pair<const char*, const char*>{
          "start", "Start a component or a subtree (releases a hold)"},
        {"stop", "Stop a component or a subtree; it stays stopped (no "
                 "restart, no incident) until started"},
        {"restart", "Restart a component or a subtree"}}) {
    auto* cmd = app.add_subcommand(verb, what);
    cmd->add_option("PATH", control.path, "e.g. root/workers/w-0")->required();
    control_option(cmd);
    path_cmds.push_back(cmd);
  }
  auto* reload_cmd = app.add_subcommand(
    "reload", "Read the config again and apply what changed, leaving "
              "unchanged components running (exit 2 and nothing changed if "
              "it is invalid)");
  control_option(reload_cmd);
  auto* events_cmd = app.add_subcommand(
    "events", "Follow a running grace: state changes and incidents as they "
              "happen, until interrupted");
  events_cmd->add_flag("--json", control.json, "One JSON object per line");
  control_option(events_cmd);
  auto* shutdown_cmd
    = app.add_subcommand("shutdown", "Stop a running grace gracefully");
  control_option(shutdown_cmd);

  cli_outcome out;
  auto usage_error = [&](const std::string& what) {
    out.text = "grace: " + what + " (see 'grace --help')\n";
    out.exit_code = 2;
    out.is_error = true;
    return out;
  };
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  if (!reversed.empty())
    reversed.pop_back(); // the program name
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream text;
    std::ostringstream err;
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e, text, err);
      out.text = text.str() + err.str();
      out.exit_code = 0;
      return out;
    }
    return usage_error(e.what());
  }
  if (check_cmd->parsed()) {
    out.options = cli_options{check};
  } else if (run_cmd->parsed()) {
    if (!run_for.empty()) {
      auto d = config::parse_duration(run_for, false);
      if (auto* why = std::get_if<std::string>(&d))
        return usage_error("--for: " + *why);
      run.run_for = std::get<config::duration>(d);
    }
    out.options = cli_options{run};
  } else if (incidents_cmd->parsed()) {
    if (!logs.empty())
      incidents.logs = logs;
    std::set<std::string> seen;
    for (auto& log : logs)
      if (!seen.insert(log).second)
        return usage_error("--log " + log
                           + " is given twice: its incidents would count "
                             "twice");
    if (!since.empty()) {
      auto d = config::parse_duration(since, false);
      if (auto* why = std::get_if<std::string>(&d))
        return usage_error("--since: " + *why);
      incidents.since = std::get<config::duration>(d);
    }
    out.options = cli_options{incidents};
  } else {
    for (auto* cmd : path_cmds)
      if (cmd->parsed())
        control.verb = cmd->get_name();
    if (status_cmd->parsed())
      control.verb = "status";
    else if (shutdown_cmd->parsed())
      control.verb = "shutdown";
    else if (events_cmd->parsed())
      control.verb = "events";
    else if (reload_cmd->parsed())
      control.verb = "reload";
    out.options = cli_options{control};
  }
  return out;
}

} // namespace grace::runtime
