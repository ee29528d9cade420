#include "config/units.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>

namespace grace::config {

namespace {

constexpr std::string_view duration_hint
  = "expected a number and a unit: us, ms, s, m, h (e.g. 150ms, 5s)";

// Splits "1.5s" into the number and the unit. Returns false if no digits lead.
bool split_number(std::string_view text, double& number,
                  std::string_view& unit) {
  auto first = text.data();
  auto last = text.data() + text.size();
  auto res = std::from_chars(first, last, number, std::chars_format::fixed);
  if (res.ec != std::errc{} || text.front() == '+' || text.front() == '-')
    return false;
  unit = text.substr(static_cast<size_t>(res.ptr - first));
  return true;
}

} // namespace

parsed<duration> parse_duration(std::string_view text, bool allow_infinity) {
  if (text == "infinity") {
    if (allow_infinity)
      return infinite_duration;
    return std::string{"'infinity' is not allowed here"};
  }
  if (text.empty() || text.front() == '-')
    return "invalid duration '" + std::string{text} + "' ("
           + std::string{duration_hint} + ")";
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit) || !std::isfinite(number))
    return "invalid duration '" + std::string{text} + "' ("
           + std::string{duration_hint} + ")";
  double ns_per_unit = 0;
  if (unit == "us")
    ns_per_unit = 1e3;
  else if (unit == "ms")
    ns_per_unit = 1e6;
  else if (unit == "s")
    ns_per_unit = 1e9;
  else if (unit == "m")
    ns_per_unit = 60e9;
  else if (unit == "h")
    ns_per_unit = 3600e9;
  else if (unit.empty())
    return "duration '" + std::string{text} + "' has no unit ("
           + std::string{duration_hint} + ")";
  else
    return "invalid duration unit '" + std::string{unit} + "' in '"
           + std::string{text} + "' (" + std::string{duration_hint} + ")";
  auto ns = number * ns_per_unit;
  // Anything past ~290 years does not fit in nanoseconds.
  if (ns >= static_cast<double>(std::numeric_limits<int64_t>::max() / 2))
    return "duration '" + std::string{text} + "' is too large";
  // To the microsecond, the finest unit it is written in: what grace prints
  // of it (format_duration) reads back.
  return duration{static_cast<int64_t>(std::llround(ns / 1e3)) * 1000};
}

parsed<std::uint64_t> parse_size(std::string_view text) {
  constexpr std::string_view hint
    = "expected bytes or a number and a unit: B, KiB, MiB, GiB, TiB "
      "(e.g. 512KiB, 64MiB)";
  if (text.empty() || text.front() == '-' || text.front() == '+')
    return "invalid size '" + std::string{text} + "' (" + std::string{hint}
           + ")";
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit) || !std::isfinite(number))
    return "invalid size '" + std::string{text} + "' (" + std::string{hint}
           + ")";
  double factor = 0;
  if (unit.empty() || unit == "B")
    factor = 1;
  else if (unit == "KiB")
    factor = 1024.0;
  else if (unit == "MiB")
    factor = 1024.0 * 1024;
  else if (unit == "GiB")
    factor = 1024.0 * 1024 * 1024;
  else if (unit == "TiB")
    factor = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB")
    factor = 1e3;
  else if (unit == "MB")
    factor = 1e6;
  else if (unit == "GB")
    factor = 1e9;
  else if (unit == "TB")
    factor = 1e12;
  else
    return "invalid size unit '" + std::string{unit} + "' in '"
           + std::string{text} + "' (" + std::string{hint} + ")";
  auto bytes = number * factor;
  if (bytes >= 1.8e19)
    return "size '" + std::string{text} + "' is too large";
  if (bytes != std::floor(bytes))
    return "size '" + std::string{text} + "' is not a whole number of bytes";
  return static_cast<std::uint64_t>(bytes);
}

std::string check_name(std::string_view text) {
  if (text.empty())
    return "name must not be empty";
  auto lower_or_digit
    = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(text.front()))
    return "invalid name '" + std::string{text}
           + "' (must start with a lower-case letter or a digit)";
  for (auto c : text)
    if (!lower_or_digit(c) && c != '_' && c != '-')
      return "invalid name '" + std::string{text}
             + "' (allowed: a-z, 0-9, '_' and '-')";
  if (text.size() > 64)
    return "name '" + std::string{text.substr(0, 16)}
           + "...' is too long (at most 64 characters)";
  return {};
}

std::string format_duration(duration d) {
  if (d == infinite_duration)
    return "infinity";
  auto ns = d.count();
  auto exact = [&](int64_t unit, const char* suffix) {
    return std::to_string(ns / unit) + suffix;
  };
  if (ns == 0)
    return "0s";
  if (ns % 3'600'000'000'000 == 0)
    return exact(3'600'000'000'000, "h");
  if (ns % 60'000'000'000 == 0)
    return exact(60'000'000'000, "m");
  if (ns % 1'000'000'000 == 0)
    return exact(1'000'000'000, "s");
  if (ns % 1'000'000 == 0)
    return exact(1'000'000, "ms");
  if (ns % 1'000 == 0)
    return exact(1'000, "us");
  return exact(1, "ns");
}

std::string format_size(std::uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  std::size_t u = 0;
  while (value >= 1024 && u + 1 < std::size(units)) {
    value /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0 || value >= 100
      || value == static_cast<double>(static_cast<std::uint64_t>(value)))
    std::snprintf(buf, sizeof buf, "%.0f%s", value, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", value, units[u]);
  return buf;
}

} // namespace grace::config
