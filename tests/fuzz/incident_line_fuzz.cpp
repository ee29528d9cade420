// One line of incidents.jsonl (SPEC.md section 6), as a torn write, a disk
// error or a hand edit may leave it: read as an incident (then written back
// and read again to the same line) or refused, and read as a report's
// digest or refused; never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/incident.hpp"
#include "runtime/incident_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view line{reinterpret_cast<const char*>(data), size};
  std::string error;
  if (auto x = grace::runtime::incident_from_json(line, &error)) {
    auto again = grace::runtime::to_json_line(*x);
    auto back = grace::runtime::incident_from_json(again);
    if (!back || grace::runtime::to_json_line(*back) != again)
      std::abort(); // what grace writes, it must read back the same
  }
  grace::runtime::incident_digest digest;
  (void)grace::runtime::read_digest(line, digest);
  return 0;
}
