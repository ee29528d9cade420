// One grace node: the actor system, the I/O thread, signals, and the root
// supervisor, run until SIGTERM/SIGINT (or --for) stops the tree in reverse
// order, or the root supervisor gives up.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "actors/run_report.hpp"
#include "config/schema.hpp"

namespace grace::runtime {
class containment;
} // namespace grace::runtime

namespace grace::actors {

/// How to run.
struct run_options {
  /// Stop by itself after this long.
  std::optional<std::chrono::nanoseconds> run_for;
  /// The config file, read again by `grace reload` and SIGHUP.
  std::string config_file;
  /// The instance's cgroups; none: process groups only, for the reason in
  /// `no_containment`.
  std::shared_ptr<runtime::containment> containment;
  std::string no_containment;
};

/// Runs the tree of `cfg`; returns 0 after a clean stop, 3 if the root
/// supervisor gave up (restart intensity exceeded). Call from main, after
/// runtime::block_signals().
/// `report`, if given, receives the end-of-run table the tracker fills
/// with every incident it closes.
int run_tree(const config::grace_config& cfg, const run_options& opts,
             std::shared_ptr<run_report>* report = nullptr);

} // namespace grace::actors
