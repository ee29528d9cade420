// Turns a probe's or readiness rule's host into an address: a literal
// address as is, a name through the resolver. Included by the files that
// already use Asio (readiness checks and probes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace grace::runtime {

class io_loop;

/// Returns the address of `host`, or nothing if it cannot be resolved. A
/// name is resolved synchronously: grace watches local services, where
/// the host is an address or localhost, and a remote name is rare.
std::optional<boost::asio::ip::address>
resolve_host(io_loop& loop, const std::string& host, std::uint16_t port);

} // namespace grace::runtime
