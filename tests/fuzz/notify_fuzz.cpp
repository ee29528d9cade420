// An sd_notify datagram (NOTIFY_SOCKET, SPEC.md section 4): any bytes a
// child sends are parsed into what grace acts on, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/sd_notify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view datagram{reinterpret_cast<const char*>(data), size};
  (void)grace::runtime::parse_notify(datagram);
  return 0;
}
