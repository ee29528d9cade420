#include "runtime/logging.hpp"

#include <filesystem>
#include <memory>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace grace::runtime {

std::string setup_logging(const std::string& log_dir) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  std::string error;
  try {
    std::filesystem::create_directories(log_dir);
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(
      log_dir + "/grace.log"));
  } catch (const std::exception& e) {
    error = e.what();
  }
  // Asynchronous: a log line never delays a restart. Its writer runs at low
  // priority, so on a busy machine a replacement's exec goes first. Under a
  // flood of messages the oldest queued lines are dropped rather than block
  // an actor.
  spdlog::init_thread_pool(8192, 1, [] {
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  });
  auto logger = std::make_shared<spdlog::async_logger>(
    "grace", sinks.begin(), sinks.end(), spdlog::thread_pool(),
    spdlog::async_overflow_policy::overrun_oldest);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%-5l%$ %v",
                      spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return error;
}

void shutdown_logging() {
  spdlog::shutdown();
}

} // namespace grace::runtime
