// Latency statistics for the benchmarks: min/p50/p90/p99/max of a sample, as
// a table row for people and a JSON object for scripts.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace grace::bench {

/// Summary of a sample of durations, in seconds.
struct summary {
  std::size_t n = 0;
  double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

/// Returns the nearest-rank percentile `p` (0..100) of sorted `xs`.
inline double percentile(const std::vector<double>& xs, double p) {
  if (xs.empty())
    return 0;
  auto rank = static_cast<std::size_t>(
    std::ceil(p / 100.0 * static_cast<double>(xs.size())));
  return xs[std::clamp<std::size_t>(rank, 1, xs.size()) - 1];
}

/// Summarises `xs` (seconds).
inline summary summarise(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  summary s;
  s.n = xs.size();
  if (xs.empty())
    return s;
  s.min = xs.front();
  s.p50 = percentile(xs, 50);
  s.p90 = percentile(xs, 90);
  s.p99 = percentile(xs, 99);
  s.max = xs.back();
  return s;
}

/// Prints a header for table rows.
inline void print_header() {
  std::printf("%-34s %6s %10s %10s %10s %10s %10s\n", "case", "n", "min ms",
              "p50 ms", "p90 ms", "p99 ms", "max ms");
}

/// Prints one table row (milliseconds).
inline void print_row(const std::string& name, const summary& s) {
  std::printf("%-34s %6zu %10.3f %10.3f %10.3f %10.3f %10.3f\n", name.c_str(),
              s.n, s.min * 1e3, s.p50 * 1e3, s.p90 * 1e3, s.p99 * 1e3,
              s.max * 1e3);
}

/// Returns `s` as a JSON object (seconds); with `samples`, also every
/// sample (seconds, in the order taken) for the charts.
inline std::string to_json(const std::string& name, const summary& s,
                           const std::vector<double>* samples = nullptr) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "{\"case\":\"%s\",\"n\":%zu,\"min\":%.9f,\"p50\":%.9f,"
                "\"p90\":%.9f,\"p99\":%.9f,\"max\":%.9f",
                name.c_str(), s.n, s.min, s.p50, s.p90, s.p99, s.max);
  std::string out = buf;
  if (samples) {
    out += ",\"samples\":[";
    for (std::size_t i = 0; i < samples->size(); ++i) {
      std::snprintf(buf, sizeof(buf), "%s%.7f", i ? "," : "", (*samples)[i]);
      out += buf;
    }
    out += "]";
  }
  return out + "}";
}

/// Returns the value after option argv[i] (advancing i), or exits with
/// status 2 and a message if the command line ends there.
inline std::string next_arg(int argc, char** argv, int& i) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "%s needs a value\n", argv[i]);
    std::exit(2);
  }
  return argv[++i];
}

/// The options of the benchmarks that drive a real `grace run` with the
/// tests' helper child: --grace BIN --child CRASHY_CHILD [-n N] [--json FILE].
struct run_options {
  std::string grace; // absolute once parsed
  std::string child; // absolute once parsed
  std::string json;
  int n = 0;
};

/// Parses argv into `o` (`o.n` keeps its default unless -n is given); on an
/// unknown option or a missing one prints why (`name`'s usage) and exits
/// with status 2.
inline void parse_run_options(int argc, char** argv, const char* name,
                              run_options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--grace")
      o.grace = next_arg(argc, argv, i);
    else if (a == "--child")
      o.child = next_arg(argc, argv, i);
    else if (a == "-n")
      o.n = std::atoi(next_arg(argc, argv, i).c_str());
    else if (a == "--json")
      o.json = next_arg(argc, argv, i);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.grace.empty() || o.child.empty()) {
    std::fprintf(stderr,
                 "usage: %s --grace BIN --child CRASHY_CHILD [-n N] "
                 "[--json FILE]\n",
                 name);
    std::exit(2);
  }
  o.grace = std::filesystem::absolute(o.grace).string();
  o.child = std::filesystem::absolute(o.child).string();
}

/// Writes `items` (JSON objects) as one JSON array to `file`, or to stdout
/// if `file` is empty.
inline void emit_json(const std::vector<std::string>& items,
                      const std::string& file) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? ",\n " : "") + items[i];
  out += "]\n";
  if (!file.empty())
    std::ofstream{file} << out;
  else
    std::printf("%s", out.c_str());
}

/// Prints a table of `rows` (name, samples) and their JSON (to `json`, or
/// stdout if empty).
inline void
report(const std::vector<std::pair<std::string, std::vector<double>>>& rows,
       const std::string& json) {
  print_header();
  std::vector<std::string> out;
  for (auto& [name, xs] : rows) {
    auto s = summarise(xs);
    print_row(name, s);
    out.push_back(to_json(name, s, &xs));
  }
  emit_json(out, json);
}

} // namespace grace::bench
