// What grace reads from /proc and from watched files: /proc/PID/stat and
// statm (resource probes), /proc/net/tcp (who holds a port) and a version
// file (file probes). The first byte picks the reader; the rest is the text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/port_holder.hpp"
#include "runtime/proc_stat.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  std::string_view text{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 4) {
    case 0:
      (void)grace::runtime::parse_stat_cpu(text);
      break;
    case 1:
      (void)grace::runtime::parse_statm_resident(text);
      break;
    case 2:
      (void)grace::runtime::listening_inodes(text, 8080);
      break;
    default:
      if (auto v = grace::runtime::parse_version(text))
        (void)grace::runtime::older(*v, *v);
      break;
  }
  return 0;
}
