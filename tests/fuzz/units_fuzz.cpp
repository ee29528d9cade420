// The config's units (durations, sizes, names; config/units.hpp): any text
// parses or is refused with a reason; what parses prints as a text that
// parses again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "config/units.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace grace::config;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto d = parse_duration(text, true);
  if (auto* v = std::get_if<duration>(&d); v && *v != infinite_duration) {
    auto printed = format_duration(*v);
    if (!std::holds_alternative<duration>(parse_duration(printed, false)))
      std::abort(); // a duration grace prints, it must read
  }
  (void)parse_duration(text, false);
  auto s = parse_size(text);
  if (auto* v = std::get_if<std::uint64_t>(&s))
    (void)format_size(*v);
  (void)check_name(text);
  return 0;
}
