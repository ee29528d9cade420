// A whole incidents.jsonl (SPEC.md section 6): `grace incidents` scans it
// in parts on several threads, and a start looks for incidents left open;
// whatever the bytes, both count every line once and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include "runtime/incident_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static int fd = ::memfd_create("incidents.jsonl", 0);
  if (fd < 0 || ::ftruncate(fd, 0) != 0
      || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    std::abort();
  auto path = "/proc/self/fd/" + std::to_string(fd);
  std::uint64_t lines = 0;
  // Parts as small as 64 bytes: the split between threads is exercised.
  for (auto& c : grace::runtime::scan_log(
         path, 0, 3,
         [](int) { return [](const grace::runtime::incident_digest&) {}; }, 64))
    lines += c.lines;
  auto open = grace::runtime::find_open(path);
  if (open.counts.lines != lines)
    std::abort(); // the parts saw another file than the whole
  return 0;
}
