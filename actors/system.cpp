#include "actors/system.hpp"

#include <algorithm>
#include <thread>

#include <caf/all.hpp>

namespace grace::actors {

std::size_t scheduler_threads(const system_options& opts) {
  if (opts.threads > 0)
    return opts.threads;
  // Actors never block (blocking work runs on the I/O thread), so one thread
  // per core is enough; two keep a slow handler from stalling all others.
  return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

std::unique_ptr<caf::actor_system_config>
make_config(const system_options& opts) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  if (opts.deterministic) {
    cfg->set("scheduler.policy", caf::atom("testing"));
  } else {
    cfg->set("scheduler.max-threads", scheduler_threads(opts));
  }
  // Debian's libcaf is built without logging; keep CAF from creating files.
  cfg->set("logger.file-verbosity", caf::atom("quiet"));
  cfg->set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

} // namespace grace::actors
