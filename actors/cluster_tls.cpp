// The cluster's TLS files checked before CAF's TLS layer reads them, and
// the cluster actor published on the node's port.
#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "actors/cluster_node.hpp"

namespace grace::actors {

std::string tls_problem(const config::tls_spec& tls) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    return "cannot set up TLS";
  auto why = [](const std::string& what, const std::string& file) {
    char text[256] = {};
    ERR_error_string_n(ERR_get_error(), text, sizeof text);
    ERR_clear_error();
    return what + " " + file + ": " + text;
  };
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1)
    return why("cannot load the certificate", tls.cert);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM)
      != 1)
    return why("cannot load the key", tls.key);
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return why("the key does not match the certificate", tls.key);
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return why("cannot load the CA", tls.ca);
  return {};
}

std::string publish_cluster(caf::actor_system& sys, const caf::actor& cluster,
                            const config::cluster_spec& spec) {
  auto me = std::find_if(spec.nodes.begin(), spec.nodes.end(),
                         [&](auto& n) { return n.name == spec.node; });
  if (me == spec.nodes.end())
    return "node " + spec.node + " is not among the cluster's nodes";
  auto& at = me->address;
  auto port
    = spec.tls
        ? caf::openssl::publish(cluster, at.port, at.host.c_str(), true)
        : sys.middleman().publish(cluster, at.port, at.host.c_str(), true);
  if (!port)
    return "cluster port " + at.host + ":" + std::to_string(at.port) + ": "
           + sys.render(port.error());
  return {};
}

} // namespace grace::actors
