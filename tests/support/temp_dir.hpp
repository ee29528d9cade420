// A fresh temporary directory for one test, removed with everything in it
// when the test ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace grace::test {

class temp_dir {
public:
  /// Creates `<tmp>/<prefix>-XXXXXX`.
  explicit temp_dir(const std::string& prefix = "grace") {
    auto tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX"))
                  .string();
    path_ = ::mkdtemp(tmpl.data());
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }

  /// Returns the path of `name` inside the directory.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  /// Writes `bytes` to `name` inside the directory; returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    auto p = file(name);
    std::ofstream{p, std::ios::binary} << bytes;
    return p;
  }

private:
  std::string path_;
};

} // namespace grace::test
