#include "runtime/incident_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/unique_fd.hpp"

namespace grace::runtime {

namespace {

// A SAX handler that keeps the top-level fields a digest needs and stops
// as soon as the rest cannot matter: a 1,000,000-line log is read in a
// couple of seconds this way, where building every document takes twice
// as long.
class digest_handler : public nlohmann::json_sax<nlohmann::json> {
public:
  explicit digest_handler(incident_digest& out) : out_(out) {}

  bool null() override { return done_value(); }
  bool boolean(bool) override { return done_value(); }
  bool number_integer(number_integer_t v) override {
    number(static_cast<double>(v));
    return done_value();
  }
  bool number_unsigned(number_unsigned_t v) override {
    number(static_cast<double>(v));
    return done_value();
  }
  bool number_float(number_float_t v, const string_t&) override {
    number(v);
    return done_value();
  }
  bool string(string_t& v) override {
    if (depth_ == 1) {
      switch (key_) {
        case field::id:
          out_.id = std::move(v);
          seen_ |= 1;
          break;
        case field::component:
          out_.component = std::move(v);
          seen_ |= 2;
          break;
        case field::mode:
          out_.failure_mode = std::move(v);
          seen_ |= 4;
          break;
        case field::severity:
          out_.severity = std::move(v);
          break;
        case field::status:
          if (auto s = incident_status_from(v)) {
            out_.status = *s;
            seen_ |= 8;
          } else {
            bad_ = true;
            return false;
          }
          break;
        case field::detected:
          if (auto t = parse_utc(v)) {
            out_.detected_us = *t;
            seen_ |= 16;
          } else {
            bad_ = true;
            return false;
          }
          break;
        default:
          break;
      }
    }
    return done_value();
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1)
      key_ = classify(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    bad_ = true;
    return false;
  }

  /// True once the digest is complete (the parse may have stopped early).
  bool complete() const { return !bad_ && depth_ <= 1 && (seen_ & 31) == 31; }

  /// True if it stopped early on purpose (an open line, all read).
  bool stopped_early() const { return early_; }

private:
  enum class field {
    other,
    id,
    component,
    mode,
    severity,
    status,
    detected,
    mttr,
    ttd
  };

  static field classify(const std::string& k) {
    if (k == "incident_id")
      return field::id;
    if (k == "component")
      return field::component;
    if (k == "failure_mode")
      return field::mode;
    if (k == "severity")
      return field::severity;
    if (k == "status")
      return field::status;
    if (k == "detected_at")
      return field::detected;
    if (k == "mttr_seconds")
      return field::mttr;
    if (k == "ttd_seconds")
      return field::ttd;
    return field::other;
  }

  void number(double v) {
    if (depth_ != 1)
      return;
    if (key_ == field::mttr)
      out_.mttr_seconds = v;
    else if (key_ == field::ttd)
      out_.ttd_seconds = v;
  }

  // After a top-level value: an open line needs nothing past detected_at.
  bool done_value() {
    if (depth_ == 1 && (seen_ & 31) == 31
        && out_.status == incident_status::open) {
      early_ = true;
      return false;
    }
    return true;
  }

  incident_digest& out_;
  int depth_ = 0;
  field key_ = field::other;
  unsigned seen_ = 0;
  bool bad_ = false;
  bool early_ = false;
};

// Calls fn(line) for every complete line in [begin, end) of fd; a last
// line without its newline is passed to `torn`.
template <class F, class T>
void for_each_line(int fd, off_t begin, off_t end, F&& fn, T&& torn) {
  constexpr std::size_t chunk = 1 << 20;
  std::string buf;
  std::string carry;
  // (A small file, or a small part of one, needs no 1 MiB buffer.)
  buf.resize(static_cast<std::size_t>(std::min<off_t>(
    static_cast<off_t>(chunk), std::max<off_t>(end - begin, 1))));
  auto pos = begin;
  while (pos < end) {
    auto want = static_cast<std::size_t>(
      std::min<off_t>(static_cast<off_t>(chunk), end - pos));
    auto n = ::pread(fd, buf.data(), want, pos);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    pos += n;
    std::string_view data{buf.data(), static_cast<std::size_t>(n)};
    while (!data.empty()) {
      auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        carry.append(data);
        break;
      }
      if (carry.empty()) {
        fn(data.substr(0, nl));
      } else {
        carry.append(data.substr(0, nl));
        fn(std::string_view{carry});
        carry.clear();
      }
      data.remove_prefix(nl + 1);
    }
  }
  if (!carry.empty())
    torn(std::string_view{carry});
}

// Returns the offset of the first line that starts at or after `at`.
off_t line_start(int fd, off_t at, off_t size) {
  if (at <= 0)
    return 0;
  char c;
  // The line starts at `at` if the byte before it ends a line.
  while (at < size) {
    auto n = ::pread(fd, &c, 1, at - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n != 1 || c == '\n')
      return at;
    // Skip ahead to the next newline in blocks.
    char block[4096];
    auto got = ::pread(fd, block, sizeof block, at);
    if (got <= 0)
      return size;
    for (ssize_t i = 0; i < got; ++i)
      if (block[i] == '\n')
        return at + i + 1;
    at += got;
  }
  return size;
}

unique_fd open_for_reading(const std::string& path) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd)
    throw std::system_error(errno, std::generic_category(), path);
  return fd;
}

} // namespace

bool read_digest(std::string_view line, incident_digest& out) {
  out = incident_digest{};
  digest_handler h{out};
  nlohmann::json::sax_parse(line, &h);
  return h.complete() || h.stopped_early();
}

void scan_counts::merge(const scan_counts& other) {
  lines += other.lines;
  open_lines += other.open_lines;
  closed_lines += other.closed_lines;
  bad_lines += other.bad_lines;
  torn_tail = torn_tail || other.torn_tail;
}

std::vector<scan_counts>
scan_log(const std::string& path, std::int64_t since_us, int parts,
         const std::function<digest_sink(int part)>& make_sink,
         std::int64_t min_part_bytes) {
  auto fd = open_for_reading(path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw std::system_error(errno, std::generic_category(), path);
  auto size = st.st_size;
  // Small parts are not worth a thread.
  parts = static_cast<int>(std::clamp<std::int64_t>(
    size / std::max<std::int64_t>(1, min_part_bytes), 1, std::max(1, parts)));
  std::vector<off_t> bounds;
  for (int k = 0; k < parts; ++k)
    bounds.push_back(line_start(fd.get(), size * k / parts, size));
  bounds.push_back(size);
  std::vector<scan_counts> counts(static_cast<std::size_t>(parts));
  auto run = [&](int k) {
    auto sink = make_sink(k);
    auto& c = counts[static_cast<std::size_t>(k)];
    incident_digest d;
    for_each_line(
      fd.get(), bounds[static_cast<std::size_t>(k)],
      bounds[static_cast<std::size_t>(k) + 1],
      [&](std::string_view line) {
        ++c.lines;
        if (line.empty())
          return;
        if (!read_digest(line, d)) {
          ++c.bad_lines;
          return;
        }
        if (d.detected_us < since_us)
          return;
        if (d.status == incident_status::open) {
          ++c.open_lines;
          return;
        }
        ++c.closed_lines;
        sink(d);
      },
      [&](std::string_view) {
        ++c.lines;
        ++c.bad_lines;
        c.torn_tail = true;
      });
  };
  std::vector<std::thread> threads;
  for (int k = 1; k < parts; ++k)
    threads.emplace_back(run, k);
  run(0);
  for (auto& t : threads)
    t.join();
  return counts;
}

open_incidents find_open(const std::string& path) {
  open_incidents result;
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd)
    return result;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return result;
  // Only incidents still open are kept: id -> sequence -> incident.
  std::unordered_map<std::string, std::uint64_t> where;
  std::map<std::uint64_t, incident> open;
  std::uint64_t seq = 0;
  auto& c = result.counts;
  incident_digest d;
  for_each_line(
    fd.get(), 0, st.st_size,
    [&](std::string_view line) {
      ++c.lines;
      if (line.empty())
        return;
      if (!read_digest(line, d)) {
        ++c.bad_lines;
        return;
      }
      if (d.status != incident_status::open) {
        ++c.closed_lines;
        if (auto it = where.find(d.id); it != where.end()) {
          open.erase(it->second);
          where.erase(it);
        }
        return;
      }
      ++c.open_lines;
      auto full = incident_from_json(line);
      if (!full) {
        ++c.bad_lines;
        return;
      }
      if (auto it = where.find(d.id); it != where.end())
        open.erase(it->second); // opened again: the last line counts
      where[d.id] = seq;
      open.emplace(seq++, std::move(*full));
    },
    [&](std::string_view) {
      ++c.lines;
      ++c.bad_lines;
      c.torn_tail = true;
    });
  for (auto& [n, x] : open)
    result.open.push_back(std::move(x));
  return result;
}

} // namespace grace::runtime
