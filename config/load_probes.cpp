// The loader: probes (loader_impl.hpp).
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "config/loader_impl.hpp"

namespace fs = std::filesystem;

namespace grace::config::detail {

std::vector<probe_spec> loader::probes(node_id id) {
  std::vector<probe_spec> result;
  auto& n = w_.at(id);
  if (n.type != yaml_node::kind::sequence) {
    w_.error(id,
             "probes: expected a list, got " + std::string{describe(n.type)});
    return result;
  }
  std::unordered_map<std::string, source_pos> names;
  for (auto item : n.items) {
    auto p = probe(item);
    if (!p)
      continue;
    auto [it, fresh] = names.emplace(p->name, p->where);
    if (!fresh) {
      w_.error(p->where, "probes: duplicate probe name " + quote(p->name)
                           + " (first at line "
                           + std::to_string(it->second.line)
                           + "); give each probe a 'name'");
      continue;
    }
    result.push_back(std::move(*p));
  }
  return result;
}

std::optional<probe_spec> loader::probe(node_id id) {
  fields peek{w_, id, "probe"};
  if (!peek.valid())
    return std::nullopt;
  probe_spec p;
  p.where = w_.pos(id);
  p.every = defaults::probe_every;
  p.timeout = defaults::probe_timeout;
  p.failures = defaults::probe_failures;
  std::optional<probe_kind> kind;
  if (auto v = peek.get("kind"))
    kind = w_.enumeration<probe_kind>(*v, "probe.kind");
  else
    peek.missing("kind");
  if (!kind)
    return std::nullopt;
  p.kind = *kind;
  auto prefix = std::string{to_string(*kind)} + " probe";
  fields f{w_, id, prefix, probe_keys(*kind)};
  p.name = std::string{to_string(*kind)};
  if (auto v = f.get("name")) {
    if (auto name = w_.string(*v, f.label("name"))) {
      if (auto why = check_name(*name); !why.empty())
        w_.error(*v, f.label("name") + ": " + why);
      p.name = *name;
    }
  }
  if (auto v = f.get("every"))
    if (auto d
        = w_.dur(*v, f.label("every"), false, std::chrono::milliseconds{10}))
      p.every = *d;
  if (auto v = f.get("initial_delay"))
    p.initial_delay = w_.dur(*v, f.label("initial_delay"));
  if (auto v = f.get("timeout"))
    if (auto d
        = w_.dur(*v, f.label("timeout"), false, std::chrono::milliseconds{1}))
      p.timeout = *d;
  if (auto v = f.get("failures"))
    if (auto x = w_.integer(*v, f.label("failures"), 1, 1'000'000))
      p.failures = static_cast<int>(*x);
  if (auto v = f.get("severity"))
    p.severity = w_.enumeration<config::severity>(*v, f.label("severity"));
  auto required = [&](std::string_view key) -> std::optional<node_id> {
    auto v = f.get(key);
    if (!v)
      f.missing(key);
    return v;
  };
  switch (*kind) {
    case probe_kind::heartbeat: {
      heartbeat_probe x;
      if (auto v = required("within"))
        if (auto d = w_.dur(*v, f.label("within"), false,
                            std::chrono::milliseconds{1}))
          x.within = *d;
      p.check = x;
      break;
    }
    case probe_kind::tcp: {
      tcp_probe x;
      x.host = std::string{defaults::probe_tcp_host};
      if (auto v = f.get("host"))
        if (auto host = w_.nonempty_string(*v, f.label("host")))
          x.host = *host;
      if (auto v = required("port"))
        if (auto port = w_.port(*v, f.label("port")))
          x.port = *port;
      p.check = x;
      break;
    }
    case probe_kind::http: {
      http_probe x;
      if (auto v = required("url")) {
        if (auto url = w_.nonempty_string(*v, f.label("url"))) {
          x.url = *url;
          if (auto why = parse_http_url(*url, x); !why.empty())
            w_.error(*v, f.label("url") + ": " + why);
        }
      }
      if (auto v = f.get("expect"))
        expect(*v, f.label("expect"), x);
      p.check = x;
      break;
    }
    case probe_kind::exec: {
      exec_probe x;
      if (auto v = required("command"))
        if (auto argv = w_.argv(*v, f.label("command")))
          x.argv = std::move(*argv);
      p.check = x;
      break;
    }
    case probe_kind::resource: {
      resource_probe x;
      if (auto v = f.get("max_rss"))
        x.max_rss = w_.size(*v, f.label("max_rss"));
      if (auto v = f.get("max_cpu"))
        x.max_cpu = w_.number(*v, f.label("max_cpu"), 0.001, 100'000.0);
      if (auto v = f.get("max_fds"))
        if (auto n = w_.integer(*v, f.label("max_fds"), 1, 100'000'000))
          x.max_fds = static_cast<std::uint64_t>(*n);
      if (auto v = f.get("for"))
        if (auto d = w_.dur(*v, f.label("for")))
          x.sustained = *d;
      if (!f.has("max_rss") && !f.has("max_cpu") && !f.has("max_fds"))
        w_.error(id, prefix
                       + ": needs at least one of max_rss, max_cpu or "
                         "max_fds");
      p.check = x;
      break;
    }
    case probe_kind::log: {
      log_probe x;
      x.count = defaults::log_count;
      x.window = defaults::log_window;
      auto stream = f.get("stream");
      auto file = f.get("file");
      if (stream && file) {
        w_.error(*f.key_node("file"),
                 prefix + ": use either 'stream' or 'file', not both");
      } else if (file) {
        if (auto path = w_.nonempty_string(*file, f.label("file"))) {
          x.from = log_probe::source::file;
          x.file = w_.absolute(*path);
        }
      } else if (stream) {
        if (auto s = w_.string(*stream, f.label("stream"))) {
          if (*s == "stdout")
            x.from = log_probe::source::out;
          else if (*s == "stderr")
            x.from = log_probe::source::err;
          else if (*s == "both")
            x.from = log_probe::source::both;
          else
            w_.error(*stream,
                     f.label("stream") + ": unknown value " + quote(*s)
                       + did_you_mean(*s, {"stdout", "stderr", "both"}));
        }
      }
      if (auto v = required("pattern")) {
        if (auto pattern = w_.nonempty_string(*v, f.label("pattern"))) {
          x.pattern = *pattern;
          check_regex(*v, f.label("pattern"), *pattern);
        }
      }
      if (auto v = f.get("count"))
        if (auto n = w_.integer(*v, f.label("count"), 1, 1'000'000))
          x.count = static_cast<int>(*n);
      if (auto v = f.get("window"))
        if (auto d = w_.dur(*v, f.label("window"), false,
                            std::chrono::milliseconds{1}))
          x.window = *d;
      p.check = x;
      break;
    }
    case probe_kind::kpi: {
      kpi_probe x;
      auto exec = f.get("exec");
      auto http = f.get("http");
      if (exec && http) {
        w_.error(*f.key_node("http"),
                 prefix + ": use either 'exec' or 'http', not both");
      } else if (exec) {
        if (auto argv = w_.argv(*exec, f.label("exec")))
          x.argv = std::move(*argv);
      } else if (http) {
        if (auto url = w_.nonempty_string(*http, f.label("http"))) {
          http_probe parsed;
          if (auto why = parse_http_url(*url, parsed); !why.empty())
            w_.error(*http, f.label("http") + ": " + why);
          x.url = *url;
          x.http = parsed;
        }
        if (!f.has("json_pointer"))
          w_.error(id, prefix
                         + ": 'http' needs a 'json_pointer' to the "
                           "number (e.g. /queue/depth)");
      } else {
        w_.error(id, prefix
                       + ": needs 'exec' (a command printing a number) "
                         "or 'http' (a URL with a JSON body)");
      }
      if (auto v = f.get("json_pointer")) {
        if (auto ptr = w_.string(*v, f.label("json_pointer"))) {
          if (!ptr->empty() && ptr->front() != '/')
            w_.error(*v, f.label("json_pointer")
                           + ": must be empty or start with '/' (RFC 6901)");
          x.json_pointer = *ptr;
        }
      }
      auto bound = [&](std::string_view key) -> std::optional<double> {
        if (auto v = f.get(key))
          return w_.number(*v, f.label(key),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::max());
        return std::nullopt;
      };
      x.above = bound("above");
      x.below = bound("below");
      if (!f.has("above") && !f.has("below"))
        w_.error(id, prefix + ": needs 'above' or 'below' (or both)");
      if (x.above && x.below && *x.below > *x.above)
        w_.error(*f.get("below"),
                 prefix
                   + ": below is greater than above: every value "
                     "would fail");
      if (auto v = f.get("for"))
        if (auto d = w_.dur(*v, f.label("for")))
          x.sustained = *d;
      p.check = x;
      break;
    }
    case probe_kind::anomaly: {
      anomaly_probe x;
      x.z = defaults::anomaly_z;
      x.min_samples = defaults::anomaly_min_samples;
      if (auto v = required("of"))
        if (auto of = w_.nonempty_string(*v, f.label("of")))
          x.of = reference{*of, w_.pos(*v)};
      if (auto v = f.get("z"))
        if (auto z = w_.number(*v, f.label("z"), 0.1, 1000.0))
          x.z = *z;
      if (auto v = f.get("min_samples"))
        if (auto n = w_.integer(*v, f.label("min_samples"), 2, 1'000'000))
          x.min_samples = static_cast<int>(*n);
      p.check = x;
      break;
    }
    case probe_kind::file: {
      file_probe x;
      if (auto v = required("path"))
        if (auto path = w_.nonempty_string(*v, f.label("path")))
          x.path = w_.absolute(*path);
      if (auto v = f.get("max_age"))
        x.max_age
          = w_.dur(*v, f.label("max_age"), false, std::chrono::milliseconds{1});
      if (auto v = f.get("monotonic"))
        if (auto b = w_.boolean(*v, f.label("monotonic")))
          x.monotonic = *b;
      if (!f.has("max_age") && !x.monotonic)
        w_.error(id, prefix + ": needs 'max_age' or 'monotonic: true'");
      p.check = x;
      break;
    }
  }
  return p;
}

void loader::expect(node_id id, const std::string& label, http_probe& x) {
  if (!w_.expect_scalar(id, label, "a status or a range like 200..399"))
    return;
  auto& text = w_.at(id).value;
  auto parse = [](std::string_view s, int& out) {
    auto res = std::from_chars(s.data(), s.data() + s.size(), out);
    return res.ec == std::errc{} && res.ptr == s.data() + s.size() && out >= 100
           && out <= 599;
  };
  auto dots = text.find("..");
  int lo = 0;
  int hi = 0;
  bool ok = dots == std::string::npos
              ? parse(text, lo) && parse(text, hi)
              : parse(std::string_view{text}.substr(0, dots), lo)
                  && parse(std::string_view{text}.substr(dots + 2), hi)
                  && lo <= hi;
  if (!ok) {
    w_.error(id, label
                   + ": expected a status (100-599) or a range like "
                     "200..399, got "
                   + quote(text));
    return;
  }
  x.expect_min = lo;
  x.expect_max = hi;
}

void loader::check_regex(node_id id, const std::string& label,
                         const std::string& pattern) {
  if (pattern.size() > 4096) {
    w_.error(id, label + ": pattern is too long (at most 4096 characters)");
    return;
  }
  try {
    std::regex re{pattern, std::regex::ECMAScript};
  } catch (const std::regex_error& e) {
    w_.error(id, label + ": invalid regular expression: " + e.what());
  }
}

} // namespace grace::config::detail
