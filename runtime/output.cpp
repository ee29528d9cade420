#include "runtime/output.hpp"

#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace grace::runtime {

std::string log_name(const std::string& path) {
  auto name = path;
  for (auto& c : name)
    if (c == '/')
      c = '.';
  return name;
}

unique_fd open_output(const std::string& file, std::uint64_t max_bytes,
                      int keep) {
  std::error_code ec;
  fs::create_directories(fs::path{file}.parent_path(), ec);
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0
      && static_cast<std::uint64_t>(st.st_size) >= max_bytes) {
    for (int i = keep; i >= 1; --i) {
      auto from = i == 1 ? file : file + "." + std::to_string(i - 1);
      auto to = file + "." + std::to_string(i);
      fs::rename(from, to, ec); // a missing older copy is fine
    }
  }
  return unique_fd{
    ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)};
}

} // namespace grace::runtime
