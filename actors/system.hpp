// The CAF actor system as Grace configures it. Everything that needs CAF's
// settings (scheduler, threads, the deterministic test scheduler, message
// types) goes through make_config(), so the daemon and the actor tests run
// the same setup. Only <caf/fwd.hpp> here: callers that spawn actors include
// CAF themselves.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

namespace grace::actors {

/// How to set up an actor system.
struct system_options {
  /// Use CAF's single-threaded test scheduler with a simulated clock.
  bool deterministic = false;
  /// Scheduler threads; 0 = one per core, at least 2.
  std::size_t threads = 0;
  /// A node of a cluster: load CAF's middleman (libcaf_io).
  bool middleman = false;
  /// With the middleman: mutual TLS (libcaf_openssl), this node's
  /// certificate and key, and the CA every peer's certificate must be
  /// signed by. Empty: plain connections.
  std::string tls_cert{};
  std::string tls_key{};
  std::string tls_ca{};
};

/// Returns a CAF config for Grace; pass it to caf::actor_system.
std::unique_ptr<caf::actor_system_config>
make_config(const system_options& opts);

/// Returns the number of scheduler threads `opts` asks for on this machine.
std::size_t scheduler_threads(const system_options& opts);

} // namespace grace::actors
