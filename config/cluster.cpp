#include "config/cluster.hpp"

#include <algorithm>

#include <openssl/evp.h>

#include "config/suggest.hpp"

namespace grace::config {

std::string digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &size, EVP_sha256(), nullptr)
      != 1)
    return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0x0f];
  }
  return out;
}

std::vector<config_error> choose_node(grace_config& cfg,
                                      const std::string& name) {
  std::vector<config_error> out;
  source_pos file{cfg.file, 1, 1};
  if (!cfg.cluster) {
    if (!name.empty())
      out.push_back(
        {file, "--node " + name + ": the config has no cluster: section"});
    return out;
  }
  auto& c = *cfg.cluster;
  // Each node keeps its own log_dir (its incidents, its socket), so that
  // nodes sharing a machine or a network disk never mix them.
  auto own_log_dir = [&] {
    if (!c.node.empty())
      cfg.log_dir += "/" + c.node;
  };
  if (name.empty()) {
    if (c.node.empty())
      out.push_back({c.where, "cluster: name this node with cluster.node or "
                              "--node NAME"});
    own_log_dir();
    return out;
  }
  std::vector<std::string_view> names;
  for (auto& n : c.nodes)
    names.push_back(n.name);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    out.push_back({c.where, "--node " + name + ": not one of cluster.nodes"
                              + did_you_mean(name, names)});
    return out;
  }
  c.node = name;
  own_log_dir();
  return out;
}

} // namespace grace::config
