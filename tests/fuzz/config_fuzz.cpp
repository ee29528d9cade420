// The config loader (SPEC.md section 2) on arbitrary YAML text: it must
// answer with a config or with errors, never crash, hang or throw. A config
// it accepts must also pass the checks `grace run` makes, and its layout in
// a cluster must be computable.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/cluster.hpp"
#include "config/loader.hpp"
#include "config/support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto r = grace::config::load_text(text, "fuzz.yaml", "/nonexistent");
  if (r.config) {
    (void)grace::config::unsupported_for_run(*r.config, "");
    (void)grace::config::layout_of(*r.config);
  }
  for (auto& e : r.errors)
    (void)to_string(e);
  return 0;
}
