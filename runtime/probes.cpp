#include "runtime/probes.hpp"

#include <array>
#include <charconv>
#include <csignal>
#include <cstring>
#include <memory>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "config/units.hpp"
#include "runtime/io_loop.hpp"
#include "runtime/output.hpp"
#include "runtime/proc_stat.hpp"
#include "runtime/resolve.hpp"
#include "runtime/unique_fd.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace grace::runtime {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::size_t max_output = 4096;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::string timed_out(std::chrono::milliseconds timeout) {
  return "timed out after " + config::format_duration(timeout);
}

struct tcp_check : std::enable_shared_from_this<tcp_check> {
  tcp_check(io_loop& l, probe_callback d)
      : socket(l.context()), timer(l.context()), done(std::move(d)) {}

  void finish(probe_result r) {
    if (finished)
      return;
    finished = true;
    boost::system::error_code ignored;
    timer.cancel();
    socket.close(ignored);
    done(std::move(r));
  }

  tcp::socket socket;
  asio::steady_timer timer;
  probe_callback done;
  bool finished = false;
  clock_type::time_point started = clock_type::now();
};

struct exec_check : std::enable_shared_from_this<exec_check> {
  exec_check(io_loop& l, probe_callback d)
      : pipe(l.context()), timer(l.context()), done(std::move(d)) {}

  void read_more() {
    pipe.async_read_some(asio::buffer(buf),
                         [self = shared_from_this()](
                           const boost::system::error_code& ec, std::size_t n) {
                           self->keep(n);
                           if (!ec)
                             self->read_more();
                         });
  }

  void keep(std::size_t n) {
    auto room = max_output - std::min(max_output, output.size());
    output.append(buf.data(), std::min(n, room));
  }

  void exited(exit_status s) {
    // What is still in the pipe belongs to this run.
    boost::system::error_code ec;
    for (;;) {
      auto n = ::read(pipe.native_handle(), buf.data(), buf.size());
      if (n <= 0)
        break;
      keep(static_cast<std::size_t>(n));
    }
    timer.cancel();
    pipe.close(ec);
    probe_result r;
    r.value = seconds_since(started);
    r.output = std::move(output);
    if (killed) {
      r.mode = config::failure_mode::check_failed;
      r.detail = timed_out(timeout);
    } else if (s.how == exit_status::kind::signaled) {
      r.mode = config::failure_mode::check_failed;
      r.detail = "killed by signal " + std::to_string(s.signal);
    } else if (s.code != 0) {
      r.mode = config::failure_mode::check_failed;
      r.detail = "exit code " + std::to_string(s.code);
    } else {
      r.ok = true;
    }
    done(std::move(r));
  }

  asio::posix::stream_descriptor pipe;
  asio::steady_timer timer;
  probe_callback done;
  std::array<char, 4096> buf{};
  std::string output;
  std::chrono::milliseconds timeout{};
  int pid = -1;
  bool killed = false;
  clock_type::time_point started = clock_type::now();
};

} // namespace

void probe_tcp(io_loop& loop, const std::string& host, std::uint16_t port,
               std::chrono::milliseconds timeout, probe_callback done) {
  auto c = std::make_shared<tcp_check>(loop, std::move(done));
  auto address = resolve_host(loop, host, port);
  if (!address) {
    probe_result r;
    r.mode = config::failure_mode::connectivity_lost;
    r.detail = "cannot resolve " + host;
    return c->finish(std::move(r));
  }
  c->timer.expires_after(timeout);
  c->timer.async_wait([c, timeout](const boost::system::error_code& err) {
    if (err)
      return; // cancelled: the connect finished first
    probe_result r;
    r.mode = config::failure_mode::connectivity_lost;
    r.detail = timed_out(timeout);
    c->finish(std::move(r));
  });
  c->socket.async_connect(
    tcp::endpoint{*address, port},
    [c, host, port](const boost::system::error_code& err) {
      probe_result r;
      r.value = seconds_since(c->started);
      if (err) {
        r.mode = config::failure_mode::connectivity_lost;
        r.detail = host + ":" + std::to_string(port) + ": " + err.message();
      } else {
        r.ok = true;
      }
      c->finish(std::move(r));
    });
}

void probe_file(const std::string& path,
                std::optional<std::chrono::nanoseconds> max_age, bool monotonic,
                file_memory& memory, probe_callback done) {
  probe_result r;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    r.mode = config::failure_mode::file_stale;
    r.detail = path + ": " + std::strerror(errno);
    return done(std::move(r));
  }
  if (max_age) {
    auto mtime = std::chrono::system_clock::time_point{
      std::chrono::seconds{st.st_mtim.tv_sec}
      + std::chrono::nanoseconds{st.st_mtim.tv_nsec}};
    auto age = std::chrono::system_clock::now() - mtime;
    r.value = std::chrono::duration<double>(age).count();
    if (age > *max_age) {
      r.mode = config::failure_mode::file_stale;
      r.detail
        = path + ": not modified for "
          + config::format_duration(
            std::chrono::duration_cast<std::chrono::milliseconds>(age))
          + " (max_age "
          + config::format_duration(
            std::chrono::duration_cast<std::chrono::milliseconds>(*max_age))
          + ")";
      return done(std::move(r));
    }
  }
  if (monotonic) {
    std::string content(256, '\0');
    unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    auto n = fd ? ::read(fd.get(), content.data(), content.size()) : -1;
    content.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    auto now = parse_version(content);
    if (now && memory.last_text) {
      auto before = parse_version(*memory.last_text);
      if (before && older(*now, *before)) {
        r.mode = config::failure_mode::version_rollback;
        r.detail = path + ": went from " + before->text + " to " + now->text;
        memory.last_text = now->text;
        return done(std::move(r));
      }
    }
    if (now)
      memory.last_text = now->text;
  }
  r.ok = true;
  done(std::move(r));
}

void probe_resource(int pid, int cgroup, const resource_limits& limits,
                    resource_memory& memory, probe_callback done) {
  probe_result r;
  auto u = sample_tree(pid, cgroup);
  auto now = clock_type::now();
  if (!u) {
    // Gone: its exit is the supervisor's business, not a resource spike.
    r.ok = true;
    return done(std::move(r));
  }
  r.value = static_cast<double>(u->rss_bytes);
  std::string over;
  if (limits.max_rss && u->rss_bytes > *limits.max_rss)
    over = "rss " + config::format_size(u->rss_bytes) + " > "
           + config::format_size(*limits.max_rss);
  if (limits.max_fds && u->fds > *limits.max_fds)
    over = "open fds " + std::to_string(u->fds) + " > "
           + std::to_string(*limits.max_fds);
  if (limits.max_cpu && memory.cpu_ticks && now > memory.sampled) {
    auto ticks = static_cast<double>(
      u->cpu_ticks - std::min(u->cpu_ticks, *memory.cpu_ticks));
    auto secs = std::chrono::duration<double>(now - memory.sampled).count();
    auto cpu
      = 100.0 * ticks / static_cast<double>(clock_ticks_per_second()) / secs;
    if (cpu > *limits.max_cpu) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "cpu %.0f%% > %.0f%%", cpu,
                    *limits.max_cpu);
      over = buf;
    }
  }
  memory.cpu_ticks = u->cpu_ticks;
  memory.sampled = now;
  if (over.empty()) {
    memory.over_since.reset();
    r.ok = true;
    return done(std::move(r));
  }
  if (!memory.over_since)
    memory.over_since = now;
  if (now - *memory.over_since < limits.sustained) {
    r.ok = true; // over, but not for long enough yet
    return done(std::move(r));
  }
  r.mode = config::failure_mode::resource_spike;
  r.detail = over + " (" + std::to_string(u->processes) + " process"
             + (u->processes == 1 ? "" : "es") + ", for "
             + config::format_duration(
               std::chrono::duration_cast<std::chrono::milliseconds>(
                 now - *memory.over_since))
             + ")";
  done(std::move(r));
}

probe_result judge_kpi(probe_result raw, const kpi_rule& rule,
                       kpi_memory& memory) {
  probe_result r;
  r.output = std::move(raw.output);
  r.mode = config::failure_mode::kpi_threshold;
  if (!raw.ok) {
    memory.out_since.reset();
    r.detail = "cannot read the KPI: " + raw.detail;
    return r;
  }
  std::optional<double> value;
  if (rule.json_pointer.empty()) {
    // The first number printed.
    std::istringstream in{r.output};
    for (std::string word; in >> word;) {
      double d = 0;
      auto res = std::from_chars(word.data(), word.data() + word.size(), d);
      if (res.ec == std::errc{}) {
        value = d;
        break;
      }
    }
  } else {
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    if (!j.is_discarded()) {
      try {
        auto& at = j.at(nlohmann::json::json_pointer{rule.json_pointer});
        if (at.is_number())
          value = at.get<double>();
        else if (at.is_string()) {
          auto text = at.get<std::string>();
          double d = 0;
          auto res = std::from_chars(text.data(), text.data() + text.size(), d);
          if (res.ec == std::errc{})
            value = d;
        }
      } catch (const nlohmann::json::exception&) {
        // no such value: reported below
      }
    }
  }
  if (!value) {
    memory.out_since.reset();
    r.detail = rule.json_pointer.empty()
                 ? std::string{"no number in the output"}
                 : "no number at " + rule.json_pointer;
    return r;
  }
  r.value = *value;
  char buf[128];
  std::string out;
  if (rule.above && *value > *rule.above) {
    std::snprintf(buf, sizeof buf, "%g above %g", *value, *rule.above);
    out = buf;
  } else if (rule.below && *value < *rule.below) {
    std::snprintf(buf, sizeof buf, "%g below %g", *value, *rule.below);
    out = buf;
  }
  auto now = clock_type::now();
  if (out.empty()) {
    memory.out_since.reset();
    r.ok = true;
    return r;
  }
  if (!memory.out_since)
    memory.out_since = now;
  if (now - *memory.out_since < rule.sustained) {
    r.ok = true; // out of bounds, not for long enough yet
    return r;
  }
  r.detail = "KPI " + out + " for "
             + config::format_duration(
               std::chrono::duration_cast<std::chrono::milliseconds>(
                 now - *memory.out_since));
  return r;
}

void probe_exec(io_loop& loop, spawn_options check,
                std::chrono::milliseconds timeout, probe_callback done) {
  auto c = std::make_shared<exec_check>(loop, std::move(done));
  c->timeout = timeout;
  auto ends = output_sink::make_pipe();
  if (!ends.read) {
    probe_result r;
    r.mode = config::failure_mode::check_failed;
    r.detail = std::string{"cannot create a pipe: "} + std::strerror(errno);
    return c->done(std::move(r));
  }
  check.stdout_fd = ends.write.get();
  check.stderr_fd = ends.write.get();
  auto result = spawn(check);
  ends.write.reset();
  if (auto* f = std::get_if<spawn_failure>(&result)) {
    probe_result r;
    r.mode = config::failure_mode::check_failed;
    r.detail = f->message;
    return c->done(std::move(r));
  }
  auto& child = std::get<child_process>(result);
  c->pid = child.pid;
  c->pipe.assign(ends.read.release());
  c->read_more();
  c->timer.expires_after(timeout);
  c->timer.async_wait([c](const boost::system::error_code& err) {
    if (err)
      return;
    c->killed = true;
    signal_group(c->pid, SIGKILL);
  });
  watch_exit(loop, child.pid, std::move(child.pidfd),
             [c](int, exit_status s) { c->exited(s); });
}

} // namespace grace::runtime
