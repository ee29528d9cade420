// The `grace` command line: argv -> cli_options, with CLI11 kept inside
// cli.cpp. Parsing is pure (no I/O besides the text it returns), so tests can
// check usage errors and exit codes without running a process.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace grace::runtime {

/// `grace check CONFIG`: validate a config file.
struct check_command {
  std::string config;
  std::string node; // --node: this node of a cluster (else cluster.node)
};

/// `grace run CONFIG [--for DURATION]`: run the tree.
struct run_command {
  std::string config;
  std::string node; // --node: this node of a cluster (else cluster.node)
  /// Stop by itself after this long (0 = until SIGTERM/SIGINT).
  std::chrono::nanoseconds run_for{0};
};

/// `grace incidents [--log FILE]... [--json] [--since DURATION]`: the
/// report, of one log or of several merged (one per node of a cluster).
struct incidents_command {
  std::vector<std::string> logs{"logs/incidents.jsonl"};
  bool json = false;
  /// Only incidents detected this recently (0 = all).
  std::chrono::nanoseconds since{0};
};

/// `grace status [--json]`, `grace start|stop|restart PATH`, `grace events
/// [--json]`, `grace shutdown`: ask a running grace through its control
/// socket.
struct control_command {
  std::string verb; // status, start, stop, restart, events, shutdown
  std::string path; // start, stop, restart
  bool json = false;
  /// --control; empty: $GRACE_CONTROL, else ./logs/grace.sock.
  std::string socket;
};

/// What the user asked for.
struct cli_options {
  std::variant<check_command, run_command, incidents_command, control_command>
    command;
};

/// The result of parsing a command line.
struct cli_outcome {
  /// Set when a command should run; else print `text` and exit `exit_code`.
  std::optional<cli_options> options;
  int exit_code = 0;
  std::string text;      // help, version or the usage error
  bool is_error = false; // `text` goes to stderr
};

/// The version `grace --version` prints.
std::string version_string();

/// Parses `args` (args[0] is the program name). Usage errors exit with 2, as
/// SPEC.md section 1 says; `--help` and `--version` with 0.
cli_outcome parse_cli(const std::vector<std::string>& args);

} // namespace grace::runtime
