// What an HTTP health endpoint answers (the http probe, SPEC.md section 4),
// whatever it sends until it closes: judged, or refused as an api_error
// saying why; never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/http_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view raw{reinterpret_cast<const char*>(data), size};
  auto r = grace::runtime::judge_http_response(raw, 200, 399, "fuzz:1/");
  if (!r.ok && r.detail.empty())
    std::abort(); // a failure says why
  return 0;
}
