#include "actors/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace grace::actors {

namespace {

const double bucket_base = std::log(1.01);

// Bucket k holds [1.01^k, 1.01^(k+1)) ms; everything under a microsecond
// shares the lowest.
std::int32_t bucket_of(double ms) {
  return static_cast<std::int32_t>(
    std::floor(std::log(std::max(ms, 1e-3)) / bucket_base));
}

double middle_of(std::int32_t bucket) {
  return std::exp((bucket + 0.5) * bucket_base);
}

} // namespace

void mttr_summary::add(double ms) {
  ++count_;
  if (buckets_.empty() && exact_.size() < exact_max) {
    exact_.push_back(ms);
    return;
  }
  for (auto x : exact_)
    count_in_bucket(x);
  exact_ = {};
  count_in_bucket(ms);
}

void mttr_summary::count_in_bucket(double ms) {
  auto k = bucket_of(ms);
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), k,
                             [](const std::pair<std::int32_t, std::uint32_t>& b,
                                std::int32_t key) { return b.first < key; });
  if (it != buckets_.end() && it->first == k)
    ++it->second;
  else
    buckets_.insert(it, {k, 1});
}

double mttr_summary::p50() const {
  if (count_ == 0)
    return 0;
  auto rank = (count_ - 1) / 2; // as xs[(n - 1) / 2] of the sorted values
  if (buckets_.empty()) {
    auto xs = exact_;
    std::nth_element(xs.begin(), xs.begin() + static_cast<long>(rank),
                     xs.end());
    return xs[rank];
  }
  std::size_t seen = 0;
  for (auto& [k, n] : buckets_) {
    seen += n;
    if (seen > rank)
      return middle_of(k);
  }
  return middle_of(buckets_.back().first);
}

void run_report::add(const runtime::incident& closed) {
  if (closed.status == runtime::incident_status::open)
    return;
  std::lock_guard<std::mutex> guard{mutex_};
  auto& e = entries_[closed.component];
  e.failures[closed.failure_mode] += closed.failures;
  e.restarts += closed.attempts;
  ++e.incidents;
  ++e.closed[closed.status];
  if (closed.status == runtime::incident_status::resolved)
    e.mttr.add(closed.mttr_seconds.value_or(0) * 1e3);
}

std::map<std::string, run_report::entry> run_report::entries() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return entries_;
}

namespace {

// "1 held, 1 abandoned": how its incidents closed, other than resolved.
std::string unhealed(const std::map<runtime::incident_status, int>& closed) {
  std::string out;
  for (auto& [status, n] : closed)
    if (status != runtime::incident_status::resolved)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " "
             + std::string{runtime::to_string(status)};
  return out.empty() ? "-" : out;
}

} // namespace

void run_report::print(std::ostream& out,
                       std::chrono::milliseconds ran_for) const {
  auto all = entries();
  char line[512];
  std::snprintf(line, sizeof(line), "grace: what happened in %.1f s\n",
                static_cast<double>(ran_for.count()) / 1000.0);
  out << line;
  if (all.empty()) {
    out << "  nothing failed\n";
    return;
  }
  std::snprintf(line, sizeof(line), "  %-26s %-30s %8s %8s %10s  %s\n",
                "component", "failures", "restarts", "resolved", "MTTR p50",
                "not resolved");
  out << line;
  int incidents = 0;
  int resolved = 0;
  for (auto& [path, e] : all) {
    std::string modes;
    for (auto& [mode, count] : e.failures)
      modes += (modes.empty() ? "" : ", ") + std::to_string(count) + " " + mode;
    auto healed = static_cast<int>(e.mttr.count());
    incidents += e.incidents;
    resolved += healed;
    std::string p50 = "-";
    if (e.mttr.count() > 0) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2f ms", e.mttr.p50());
      p50 = buf;
    }
    std::snprintf(line, sizeof(line), "  %-26s %-30s %8d %8d %10s  %s\n",
                  path.c_str(), modes.c_str(), e.restarts, healed, p50.c_str(),
                  unhealed(e.closed).c_str());
    out << line;
  }
  std::snprintf(line, sizeof(line),
                "  %d incidents, %d resolved (healed and verified)\n",
                incidents, resolved);
  out << line;
}

} // namespace grace::actors
