#include "actors/system.hpp"

#include <algorithm>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <spdlog/spdlog.h>

#include "actors/messages.hpp"

namespace grace::actors {

std::size_t scheduler_threads(const system_options& opts) {
  if (opts.threads > 0)
    return opts.threads;
  // Actors never block (blocking work runs on the I/O thread), so one thread
  // per core is enough; two keep a slow handler from stalling all others.
  return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

std::unique_ptr<caf::actor_system_config>
make_config(const system_options& opts) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  if (opts.deterministic) {
    cfg->set("scheduler.policy", caf::atom("testing"));
  } else {
    cfg->set("scheduler.max-threads", scheduler_threads(opts));
    // An idle worker sleeps on a condition variable that every enqueue from
    // outside signals; the timeout only paces its attempts to steal work.
    // CAF's 10 ms would wake both workers 200 times a second for nothing.
    // After each job a worker polls its queue (50 us apart) before it
    // sleeps: 100 times (5 ms, long enough for the messages of one healing)
    // instead of CAF's 500, or with many probes it never sleeps. Measured
    // with bench/scale_bench, 1000 children with a tcp probe each per
    // second: 43 % of a core with CAF's defaults, 11 % with these.
    cfg->set("work-stealing.moderate-poll-attempts",
             std::size_t{opts.middleman ? 5u : 100u});
    cfg->set("work-stealing.relaxed-sleep-duration",
             caf::timespan{std::chrono::seconds{1}});
  }
  if (opts.middleman) {
    // No heartbeats of CAF's own: the cluster's heartbeats tell whether a
    // node is up, and a connection to a node declared down is dropped and
    // dialled afresh (cluster_node.cpp). (CAF's heartbeats also cut TLS
    // connections in 0.17.)
    cfg->load<caf::io::middleman>();
    if (!opts.tls_cert.empty()) {
      cfg->load<caf::openssl::manager>();
      cfg->openssl_certificate = opts.tls_cert;
      cfg->openssl_key = opts.tls_key;
      cfg->openssl_cafile = opts.tls_ca;
    }
  }
  register_messages(*cfg);
  // Debian's libcaf is built without logging; keep CAF from creating files.
  cfg->set("logger.file-verbosity", caf::atom("quiet"));
  cfg->set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

std::string to_string(report_kind x) {
  switch (x) {
    case report_kind::started:
      return "started";
    case report_kind::ready:
      return "ready";
    case report_kind::exited:
      return "exited";
    case report_kind::spawn_failed:
      return "spawn_failed";
    case report_kind::stopped:
      return "stopped";
    case report_kind::held:
      return "held";
  }
  return "?";
}

void register_messages(caf::actor_system_config& cfg) {
  cfg.add_message_type<child_report>("grace.child_report");
  cfg.add_message_type<incident_note>("grace.incident_note");
  cfg.add_message_type<failure_note>("grace.failure_note");
  cfg.add_message_type<probe_outcome>("grace.probe_outcome");
  cfg.add_message_type<failure_report>("grace.failure_report");
  cfg.add_message_type<component_status>("grace.component_status");
  cfg.add_message_type<status_list>("grace.status_list");
  cfg.add_message_type<cluster_heartbeat>("grace.cluster_heartbeat");
  cfg.add_message_type<node_status>("grace.node_status");
  cfg.add_message_type<node_list>("grace.node_list");
  cfg.add_error_category(
    caf::atom("grace"),
    [](std::uint8_t code, caf::atom_value, const caf::message& context) {
      if (context.size() == 1 && context.match_element<std::string>(0))
        return context.get_as<std::string>(0);
      return grace_category().message(code);
    });
}

caf::error grace_error(grace_errc code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), caf::atom("grace"),
                    caf::make_message(std::move(message))};
}

std::optional<grace_errc> grace_code(const caf::error& err) {
  if (!err || err.category() != caf::atom("grace"))
    return std::nullopt;
  return static_cast<grace_errc>(err.code());
}

void log_stray_messages(caf::scheduled_actor* self) {
  self->set_default_handler(
    [](caf::scheduled_actor* a,
       caf::message_view& x) -> caf::result<caf::message> {
      spdlog::error("{}: unexpected message {}", a->name(),
                    to_string(x.copy_content_to_message()));
      // Nothing back: an error would make the sender quit, a message would
      // be stray there in turn. A requester gets its timeout.
      return caf::delegated<caf::message>{};
    });
  self->set_error_handler([](caf::scheduled_actor* a, caf::error& err) {
    spdlog::error("{}: unexpected error {}", a->name(), to_string(err));
  });
}

std::string error_text(const caf::error& err) {
  if (err == caf::sec::request_timeout)
    return "no answer in time";
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return to_string(err);
}

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace grace::actors
