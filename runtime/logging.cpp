#include "runtime/logging.hpp"

#include <filesystem>
#include <memory>
#include <vector>

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
  auto logger
    = std::make_shared<spdlog::logger>("grace", sinks.begin(), sinks.end());
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
