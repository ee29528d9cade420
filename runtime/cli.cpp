#include "runtime/cli.hpp"

#include <sstream>

#include <CLI/CLI.hpp>

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

  cli_outcome out;
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
    out.text = "grace: " + std::string{e.what()} + " (see 'grace --help')\n";
    out.exit_code = 2;
    out.is_error = true;
    return out;
  }
  if (check_cmd->parsed())
    out.options = cli_options{check};
  return out;
}

} // namespace grace::runtime
