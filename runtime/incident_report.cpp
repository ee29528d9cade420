#include "runtime/incident_report.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace grace::runtime {

namespace {

// Exact below 2^11 us; above, the top 11 bits are kept (error < 0.1 %).
std::uint64_t bucket_of(std::uint64_t us) {
  if (us < 2048)
    return us;
  auto shift = std::bit_width(us) - 11;
  return (us >> shift) << shift;
}

std::string human(double seconds) {
  char buf[32];
  if (seconds < 1e-3)
    std::snprintf(buf, sizeof buf, "%.0fus", seconds * 1e6);
  else if (seconds < 1.0)
    std::snprintf(buf, sizeof buf, "%.3gms", seconds * 1e3);
  else if (seconds < 600)
    std::snprintf(buf, sizeof buf, "%.3gs", seconds);
  else
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  return buf;
}

std::string percent(double x) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", x * 100);
  return buf;
}

// Rows of the per-component tables people read.
constexpr std::size_t max_component_rows = 20;

// The histogram's upper edges, in seconds: 1-3-10 steps.
const std::vector<double>& edges() {
  static const std::vector<double> e{1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1,
                                     0.3,  1,    3,    10,   30,   100};
  return e;
}

std::vector<std::uint64_t> histogram(const latency_stats& s) {
  auto& e = edges();
  std::vector<std::uint64_t> counts(e.size() + 1, 0);
  for (auto [bucket, n] : s.buckets()) {
    auto v = static_cast<double>(bucket) / 1e6;
    auto i = static_cast<std::size_t>(std::lower_bound(e.begin(), e.end(), v)
                                      - e.begin());
    counts[i] += n;
  }
  return counts;
}

nlohmann::ordered_json stats_json(const latency_stats& s) {
  nlohmann::ordered_json j;
  j["count"] = s.count();
  if (s.count() == 0)
    return j;
  j["min"] = s.min();
  j["p50"] = s.percentile(50);
  j["p90"] = s.percentile(90);
  j["p99"] = s.percentile(99);
  j["max"] = s.max();
  j["mean"] = s.mean();
  return j;
}

nlohmann::ordered_json group_json(const group_stats& g) {
  nlohmann::ordered_json j;
  j["closed"] = g.closed;
  j["resolved"] = g.resolved();
  j["success_rate"] = g.success_rate();
  auto st = nlohmann::ordered_json::object();
  for (auto [status, n] : g.by_status)
    st[std::string{to_string(status)}] = n;
  j["by_status"] = std::move(st);
  j["mttr_seconds"] = stats_json(g.mttr);
  j["ttd_seconds"] = stats_json(g.ttd);
  return j;
}

void stats_row(std::ostream& out, const std::string& label,
               const latency_stats& s, std::size_t width) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-*s %7llu %9s %9s %9s %9s %9s\n",
                static_cast<int>(width), label.c_str(),
                static_cast<unsigned long long>(s.count()),
                human(s.min()).c_str(), human(s.percentile(50)).c_str(),
                human(s.percentile(90)).c_str(),
                human(s.percentile(99)).c_str(), human(s.max()).c_str());
  out << buf;
}

void stats_table(std::ostream& out, const char* title,
                 latency_stats group_stats::*which, const incident_summary& s,
                 const std::string& bold, const std::string& plain) {
  if ((s.total.*which).count() == 0)
    return;
  // As wide as the labels of the rows shown (groups with figures).
  std::size_t width = 12;
  for (auto& [name, g] : s.by_component)
    if ((g.*which).count() > 0)
      width = std::max(width, name.size() + 2);
  for (auto& [name, g] : s.by_mode)
    if ((g.*which).count() > 0)
      width = std::max(width, name.size() + 2);
  char head[256];
  std::snprintf(head, sizeof head, "  %-*s %7s %9s %9s %9s %9s %9s\n",
                static_cast<int>(width), "", "count", "min", "p50", "p90",
                "p99", "max");
  out << '\n' << bold << title << plain << '\n' << head;
  stats_row(out, "all", s.total.*which, width);
  out << "  by failure mode\n";
  for (auto& [name, g] : s.by_mode)
    if ((g.*which).count() > 0)
      stats_row(out, "  " + name, g.*which, width);
  // The components with the most of these first; a long tail is cut.
  std::vector<const std::pair<const std::string, group_stats>*> rows;
  for (auto& entry : s.by_component)
    if ((entry.second.*which).count() > 0)
      rows.push_back(&entry);
  std::stable_sort(rows.begin(), rows.end(), [&](auto* a, auto* b) {
    return (a->second.*which).count() > (b->second.*which).count();
  });
  out << "  by component\n";
  for (std::size_t i = 0; i < rows.size() && i < max_component_rows; ++i)
    stats_row(out, "  " + rows[i]->first, rows[i]->second.*which, width);
  if (rows.size() > max_component_rows)
    out << "    ... and " << rows.size() - max_component_rows
        << " more components (--json lists them all)\n";
}

} // namespace

// -- latency_stats ------------------------------------------------------------

void latency_stats::add(double seconds) {
  seconds = std::max(0.0, seconds);
  auto us = static_cast<std::uint64_t>(std::llround(seconds * 1e6));
  ++buckets_[bucket_of(us)];
  min_ = count_ == 0 ? seconds : std::min(min_, seconds);
  max_ = count_ == 0 ? seconds : std::max(max_, seconds);
  sum_ += seconds;
  ++count_;
}

void latency_stats::merge(const latency_stats& other) {
  if (other.count_ == 0)
    return;
  for (auto [b, n] : other.buckets_)
    buckets_[b] += n;
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
}

double latency_stats::min() const noexcept {
  return min_;
}

double latency_stats::max() const noexcept {
  return max_;
}

double latency_stats::mean() const noexcept {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

double latency_stats::percentile(double p) const {
  if (count_ == 0)
    return 0;
  auto rank = static_cast<std::uint64_t>(
    std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  if (rank == count_)
    return max_;
  std::uint64_t seen = 0;
  for (auto [bucket, n] : buckets_) {
    seen += n;
    if (seen >= rank)
      return std::clamp(static_cast<double>(bucket) / 1e6, min_, max_);
  }
  return max_;
}

// -- group_stats --------------------------------------------------------------

std::uint64_t group_stats::resolved() const {
  auto it = by_status.find(incident_status::resolved);
  return it == by_status.end() ? 0 : it->second;
}

double group_stats::success_rate() const {
  return closed == 0
           ? 0.0
           : static_cast<double>(resolved()) / static_cast<double>(closed);
}

void group_stats::add(const incident_digest& x) {
  ++closed;
  ++by_status[x.status];
  if (x.status == incident_status::resolved && x.mttr_seconds)
    mttr.add(*x.mttr_seconds);
  if (x.ttd_seconds)
    ttd.add(*x.ttd_seconds);
}

void group_stats::merge(const group_stats& other) {
  closed += other.closed;
  for (auto [status, n] : other.by_status)
    by_status[status] += n;
  mttr.merge(other.mttr);
  ttd.merge(other.ttd);
}

// -- incident_summary ---------------------------------------------------------

void incident_summary::add(const incident_digest& x) {
  total.add(x);
  by_mode[x.failure_mode].add(x);
  by_component[x.component].add(x);
  if (first_us == 0 || x.detected_us < first_us)
    first_us = x.detected_us;
  last_us = std::max(last_us, x.detected_us);
  if (x.status == incident_status::resolved && x.mttr_seconds)
    keep_if_slow({x.id, x.component, x.failure_mode, *x.mttr_seconds});
}

void incident_summary::keep_if_slow(slow_incident x) {
  if (slowest.size() == slowest_kept
      && slowest.back().mttr_seconds >= x.mttr_seconds)
    return;
  auto at = std::upper_bound(
    slowest.begin(), slowest.end(), x.mttr_seconds,
    [](double v, const slow_incident& e) { return v > e.mttr_seconds; });
  slowest.insert(at, std::move(x));
  if (slowest.size() > slowest_kept)
    slowest.pop_back();
}

void incident_summary::merge(const incident_summary& other) {
  total.merge(other.total);
  for (auto& [k, g] : other.by_mode)
    by_mode[k].merge(g);
  for (auto& [k, g] : other.by_component)
    by_component[k].merge(g);
  for (auto& x : other.slowest)
    keep_if_slow(x);
  if (other.first_us != 0 && (first_us == 0 || other.first_us < first_us))
    first_us = other.first_us;
  last_us = std::max(last_us, other.last_us);
  counts.merge(other.counts);
}

std::uint64_t incident_summary::open_now() const {
  // Every closing line follows its opening line, so what opened and never
  // closed is the difference.
  return counts.open_lines > counts.closed_lines
           ? counts.open_lines - counts.closed_lines
           : 0;
}

incident_summary summarize(const std::string& path, std::int64_t since_us,
                           int parts, std::int64_t min_part_bytes) {
  std::vector<incident_summary> partial(
    static_cast<std::size_t>(std::max(1, parts)));
  auto counts = scan_log(
    path, since_us, parts,
    [&](int k) -> digest_sink {
      auto* s = &partial[static_cast<std::size_t>(k)];
      return [s](const incident_digest& d) { s->add(d); };
    },
    min_part_bytes);
  incident_summary result;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    partial[k].counts = counts[k];
    result.merge(partial[k]);
  }
  return result;
}

void print_report(std::ostream& out, const incident_summary& s,
                  const std::string& source, bool color) {
  std::string bold = color ? "\033[1m" : "";
  std::string plain = color ? "\033[0m" : "";
  std::string green = color ? "\033[32m" : "";
  std::string red = color ? "\033[31m" : "";
  auto& t = s.total;
  out << bold << "Incidents in " << source << plain;
  if (t.closed > 0)
    out << " (" << format_utc(s.first_us) << " .. " << format_utc(s.last_us)
        << ")";
  out << '\n';
  if (t.closed == 0 && s.open_now() == 0) {
    out << "  no incidents\n";
  } else {
    out << "  " << t.closed << " closed, " << s.open_now() << " open";
    if (t.closed > 0)
      out << "; success rate " << (t.success_rate() >= 0.99 ? green : red)
          << percent(t.success_rate()) << plain;
    out << '\n';
    out << " ";
    for (auto status : {incident_status::resolved, incident_status::failed,
                        incident_status::escalated, incident_status::held,
                        incident_status::abandoned}) {
      auto it = t.by_status.find(status);
      out << ' ' << to_string(status) << ' '
          << (it == t.by_status.end() ? 0 : it->second);
    }
    out << '\n';
  }
  if (s.counts.bad_lines > 0)
    out << "  " << red << s.counts.bad_lines << " unreadable line(s) skipped"
        << (s.counts.torn_tail ? " (the last one torn)" : "") << plain << '\n';
  stats_table(out, "MTTR (detected -> recovered, resolved incidents)",
              &group_stats::mttr, s, bold, plain);
  stats_table(out, "Time to detect (failure -> detected, where known)",
              &group_stats::ttd, s, bold, plain);
  if (!s.slowest.empty()) {
    out << '\n' << bold << "Slowest recoveries" << plain << '\n';
    for (auto& x : s.slowest)
      out << "  " << human(x.mttr_seconds) << "  " << x.id << "  "
          << x.component << "  " << x.failure_mode << '\n';
  }
  if (t.mttr.count() > 0) {
    out << '\n' << bold << "MTTR histogram" << plain << '\n';
    auto counts = histogram(t.mttr);
    auto& e = edges();
    std::size_t lo = 0;
    std::size_t hi = counts.size();
    while (lo < hi && counts[lo] == 0)
      ++lo;
    while (hi > lo && counts[hi - 1] == 0)
      --hi;
    auto most = *std::max_element(counts.begin(), counts.end());
    for (auto i = lo; i < hi; ++i) {
      auto label = i < e.size() ? "<= " + human(e[i]) : "> " + human(e.back());
      auto bar = static_cast<std::size_t>(std::llround(
        40.0 * static_cast<double>(counts[i]) / static_cast<double>(most)));
      if (counts[i] > 0)
        bar = std::max<std::size_t>(bar, 1);
      char head[32];
      std::snprintf(head, sizeof head, "  %9s |", label.c_str());
      out << head << green << std::string(bar, '#') << plain << ' ' << counts[i]
          << '\n';
    }
  }
}

std::string report_json(const incident_summary& s, const std::string& source) {
  nlohmann::ordered_json j;
  j["source"] = source;
  j["from"] = s.total.closed > 0
                ? nlohmann::ordered_json(format_utc(s.first_us))
                : nlohmann::ordered_json(nullptr);
  j["to"] = s.total.closed > 0 ? nlohmann::ordered_json(format_utc(s.last_us))
                               : nlohmann::ordered_json(nullptr);
  j["lines"] = s.counts.lines;
  j["bad_lines"] = s.counts.bad_lines;
  j["torn_last_line"] = s.counts.torn_tail;
  j["open"] = s.open_now();
  auto all = group_json(s.total);
  for (auto& [k, v] : all.items())
    j[k] = v;
  auto modes = nlohmann::ordered_json::object();
  for (auto& [name, g] : s.by_mode)
    modes[name] = group_json(g);
  j["by_failure_mode"] = std::move(modes);
  auto comps = nlohmann::ordered_json::object();
  for (auto& [name, g] : s.by_component)
    comps[name] = group_json(g);
  j["by_component"] = std::move(comps);
  auto slow = nlohmann::ordered_json::array();
  for (auto& x : s.slowest)
    slow.push_back({{"incident_id", x.id},
                    {"component", x.component},
                    {"failure_mode", x.failure_mode},
                    {"mttr_seconds", x.mttr_seconds}});
  j["slowest"] = std::move(slow);
  auto hist = nlohmann::ordered_json::array();
  auto counts = histogram(s.total.mttr);
  auto& e = edges();
  for (std::size_t i = 0; i < counts.size(); ++i)
    hist.push_back({{"le", i < e.size() ? nlohmann::ordered_json(e[i])
                                        : nlohmann::ordered_json("inf")},
                    {"count", counts[i]}});
  j["mttr_histogram"] = std::move(hist);
  return j.dump(2);
}

void warn_unreadable(std::ostream& err, const incident_summary& s,
                     const std::string& source) {
  if (s.counts.bad_lines == 0)
    return;
  err << "grace: warning: " << source << ": " << s.counts.bad_lines
      << " unreadable line(s) skipped";
  if (s.counts.torn_tail)
    err << ", the last one torn (written without its end, as by a power "
           "loss or a kill during the write)";
  err << '\n';
}

} // namespace grace::runtime
