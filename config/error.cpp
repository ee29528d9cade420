#include "config/error.hpp"

namespace grace::config {

std::string to_string(const source_pos& x) {
  auto line = x.line > 0 ? x.line : 1;
  auto column = x.column > 0 ? x.column : 1;
  return x.file + ':' + std::to_string(line) + ':' + std::to_string(column);
}

std::string to_string(const config_error& x) {
  return to_string(x.where) + ": error: " + x.message;
}

namespace {

std::string summary(const std::vector<config_error>& errors) {
  if (errors.empty())
    return "invalid config";
  auto result = to_string(errors.front());
  if (errors.size() > 1)
    result += " (and " + std::to_string(errors.size() - 1) + " more)";
  return result;
}

} // namespace

config_exception::config_exception(std::vector<config_error> errors)
    : std::runtime_error(summary(errors)), errors_(std::move(errors)) {}

} // namespace grace::config
