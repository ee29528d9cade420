#include "runtime/metrics.hpp"

#include <exception>
#include <map>
#include <mutex>
#include <tuple>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace grace::runtime {

namespace pm = prometheus;

struct metrics::impl {
  impl(const std::string& address, const pm::Labels& node)
      : exposer(address, 1), registry(std::make_shared<pm::Registry>()),
        up(pm::BuildGauge()
             .Name("grace_component_up")
             .Labels(node)
             .Help("1 while the component is ready, else 0")
             .Register(*registry)),
        restarts(pm::BuildCounter()
                   .Name("grace_restarts_total")
                   .Labels(node)
                   .Help("Restarts of the component since grace started")
                   .Register(*registry)),
        incidents(pm::BuildCounter()
                    .Name("grace_incidents_total")
                    .Labels(node)
                    .Help("Incidents, counted as they close")
                    .Register(*registry)),
        mttr_family(pm::BuildHistogram()
                      .Name("grace_mttr_seconds")
                      .Labels(node)
                      .Help("Time to recovery of resolved incidents")
                      .Register(*registry)),
        probe_family(pm::BuildHistogram()
                       .Name("grace_probe_duration_seconds")
                       .Labels(node)
                       .Help("How long each probe check took")
                       .Register(*registry)),
        mttr(mttr_family.Add({}, buckets())) {
    exposer.RegisterCollectable(registry);
  }

  static pm::Histogram::BucketBoundaries buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
  }

  pm::Exposer exposer;
  std::shared_ptr<pm::Registry> registry;
  pm::Family<pm::Gauge>& up;
  pm::Family<pm::Counter>& restarts;
  pm::Family<pm::Counter>& incidents;
  pm::Family<pm::Histogram>& mttr_family;
  pm::Family<pm::Histogram>& probe_family;
  pm::Histogram& mttr;
  // Metrics already made, by label values (Family::Add hashes its labels).
  std::mutex mutex;
  std::map<std::string, pm::Gauge*> up_of;
  std::map<std::string, pm::Counter*> restarts_of;
  std::map<std::tuple<std::string, std::string, std::string>, pm::Counter*>
    incidents_of;
  std::map<std::pair<std::string, std::string>, pm::Histogram*> probes_of;
};

metrics::metrics() = default;
metrics::~metrics() = default;

std::unique_ptr<metrics> metrics::open(const std::string& host,
                                       std::uint16_t port, std::string* error,
                                       const std::string& node) {
  std::unique_ptr<metrics> m{new metrics()};
  pm::Labels labels;
  if (!node.empty())
    labels["node"] = node;
  try {
    m->impl_
      = std::make_unique<impl>(host + ":" + std::to_string(port), labels);
  } catch (const std::exception& e) {
    if (error)
      *error = "cannot serve metrics on " + host + ":" + std::to_string(port)
               + ": " + e.what();
    return nullptr;
  }
  return m;
}

void metrics::component_up(const std::string& path, bool up) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto& g = impl_->up_of[path];
  if (!g)
    g = &impl_->up.Add({{"component", path}});
  g->Set(up ? 1 : 0);
}

void metrics::restarted(const std::string& path) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto& c = impl_->restarts_of[path];
  if (!c)
    c = &impl_->restarts.Add({{"component", path}});
  c->Increment();
}

void metrics::incident_closed(const std::string& mode,
                              const std::string& severity,
                              const std::string& status, double mttr_seconds) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto& c = impl_->incidents_of[{mode, severity, status}];
  if (!c)
    c = &impl_->incidents.Add(
      {{"failure_mode", mode}, {"severity", severity}, {"status", status}});
  c->Increment();
  if (mttr_seconds >= 0)
    impl_->mttr.Observe(mttr_seconds);
}

void metrics::probe_checked(const std::string& path, const std::string& probe,
                            double seconds) {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  auto& h = impl_->probes_of[{path, probe}];
  if (!h)
    h = &impl_->probe_family.Add({{"component", path}, {"probe", probe}},
                                 impl::buckets());
  h->Observe(seconds);
}

} // namespace grace::runtime
