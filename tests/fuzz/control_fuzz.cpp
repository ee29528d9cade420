// One request line of the control socket (SPEC.md section 7), as a client
// may send anything: parsed into a request or the failure line to answer
// with, which must itself be one line of valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "runtime/control_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view line{reinterpret_cast<const char*>(data), size};
  auto r = grace::runtime::parse_control_request(line, "root");
  if (auto* why = std::get_if<std::string>(&r)) {
    if (why->find('\n') != std::string::npos || !nlohmann::json::accept(*why))
      std::abort(); // the answer is not one JSON line
  }
  return 0;
}
