// The `grace` executable: command line -> command -> exit code (SPEC.md
// section 1: 0 success, 2 usage error or invalid config).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "runtime/cli.hpp"

namespace {

int run_check(const grace::runtime::check_command& cmd) {
  auto result = grace::config::load_file(cmd.config);
  if (!result.config) {
    for (auto& e : result.errors)
      std::cerr << to_string(e) << '\n';
    std::cerr << "grace: " << result.errors.size()
              << (result.errors.size() == 1 ? " error" : " errors") << " in "
              << cmd.config << '\n';
    return 2;
  }
  auto& cfg = *result.config;
  std::cout << cmd.config << ": ok (" << grace::config::count_children(cfg.root)
            << " processes, " << grace::config::count_supervisors(cfg.root)
            << " supervisors, " << cfg.playbooks.size() << " playbooks)\n";
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
  return std::visit([](auto& cmd) { return run_check(cmd); },
                    outcome.options->command);
}
