// Parsing and printing of the config's scalar units: durations (`150ms`, `5s`,
// `2m`, `1h`, `infinity` where allowed), sizes (`512KiB`, `64MiB`, `2GiB`) and
// names (`[a-z0-9][a-z0-9_-]*`). Pure functions; the loader adds positions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace grace::config {

/// Durations in the config; `infinity` is duration::max().
using duration = std::chrono::nanoseconds;

/// The value `infinity` stands for.
inline constexpr duration infinite_duration = duration::max();

/// Either a value or the reason it could not be parsed.
template <class T>
using parsed = std::variant<T, std::string>;

/// Parses `150ms`, `1.5s`, `2m`, `1h`, `250us`; `infinity` only when allowed.
parsed<duration> parse_duration(std::string_view text, bool allow_infinity);

/// Parses `4096`, `512KiB`, `64MiB`, `2GiB`, `1TiB` (also `KB`, `MB`, `GB`,
/// `TB` as powers of 1000, and `B`).
parsed<std::uint64_t> parse_size(std::string_view text);

/// Returns the reason `text` is not a valid component name, or "" if it is.
std::string check_name(std::string_view text);

/// Renders a duration the way a user would write it (`150ms`, `5s`, `2m`).
std::string format_duration(duration d);

/// Renders a size as people read it: `512B`, `64KiB`, `1.5GiB`.
std::string format_size(std::uint64_t bytes);

} // namespace grace::config
