// Typed reads from a parsed YAML document, for the loader: scalars, units,
// enums and lists with errors at their positions (walker), and one
// mapping with its keys checked against a list (fields). Internal to
// config/.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/defaults.hpp"
#include "config/document.hpp"
#include "config/error.hpp"
#include "config/schema.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"

namespace grace::config::detail {

// Thrown when aliases expand the document past what any real config needs.
struct alias_budget_exceeded {
  node_id at;
};

/// How many node reads a document may take: a handful per node of the file,
/// plus a fixed allowance for what aliases add. Only an alias bomb gets near.
constexpr std::size_t reads_per_node = 8;
constexpr std::size_t alias_budget = 4'000'000;

/// Supervisors deeper than this can only come from a recursive alias: YAML
/// itself stops at about 160 (the parser's nesting limit).
constexpr int max_supervisor_depth = 1000;

inline std::string quote(std::string_view s) {
  constexpr std::size_t max = 40;
  if (s.size() > max)
    return "'" + std::string{s.substr(0, max)} + "...'";
  return "'" + std::string{s} + "'";
}

inline std::string join(const std::vector<std::string_view>& xs) {
  std::string result;
  for (auto& x : xs) {
    if (!result.empty())
      result += ", ";
    result += x;
  }
  return result;
}

template <class Enum>
std::vector<std::string_view> names_of() {
  std::vector<std::string_view> result;
  for (auto& [name, value] : enum_names<Enum>())
    result.push_back(name);
  return result;
}

inline std::string_view describe(yaml_node::kind k) {
  switch (k) {
    case yaml_node::kind::null:
      return "nothing";
    case yaml_node::kind::scalar:
      return "a scalar";
    case yaml_node::kind::sequence:
      return "a list";
    case yaml_node::kind::map:
      return "a mapping";
  }
  return "?";
}

// -- walker: typed reads from the document, errors with positions -------------

class walker {
public:
  walker(const yaml_document& doc, std::vector<config_error>& errors,
         std::string base_dir)
      : doc_(doc), errors_(errors), base_dir_(std::move(base_dir)),
        budget_(doc.nodes.size() * reads_per_node + alias_budget) {}

  const yaml_node& at(node_id id) {
    if (++visits_ > budget_)
      throw alias_budget_exceeded{id};
    return doc_.nodes[id];
  }

  source_pos pos(node_id id) const {
    auto& n = doc_.nodes[id];
    return {doc_.file, n.line, n.column};
  }

  void error(node_id id, std::string message) {
    errors_.push_back({pos(id), std::move(message)});
  }

  void error(const source_pos& where, std::string message) {
    errors_.push_back({where, std::move(message)});
  }

  std::size_t error_count() const noexcept { return errors_.size(); }

  const std::string& base_dir() const { return base_dir_; }

  /// Returns whether mapping `id` has the key `key` (written, not merged).
  bool has_key(node_id id, std::string_view key) {
    auto& n = at(id);
    for (std::size_t i = 0; i < n.items.size(); i += 2) {
      auto& k = doc_.nodes[n.items[i]];
      if (k.type == yaml_node::kind::scalar && k.value == key)
        return true;
    }
    return false;
  }

  std::string absolute(const std::string& path) const {
    std::filesystem::path p{path};
    if (p.is_relative())
      p = std::filesystem::path{base_dir_} / p;
    return p.lexically_normal().string();
  }

  // -- scalars ----------------------------------------------------------------

  bool expect_scalar(node_id id, const std::string& label,
                     std::string_view expected) {
    auto& n = at(id);
    if (n.type == yaml_node::kind::scalar)
      return true;
    error(id, label + ": expected " + std::string{expected} + ", got "
                + std::string{describe(n.type)});
    return false;
  }

  std::optional<std::string> string(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "a string"))
      return std::nullopt;
    return at(id).value;
  }

  std::optional<std::string> nonempty_string(node_id id,
                                             const std::string& label) {
    auto s = string(id, label);
    if (s && s->empty()) {
      error(id, label + ": must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<int64_t> integer(node_id id, const std::string& label,
                                 int64_t lo, int64_t hi) {
    if (!expect_scalar(id, label, "an integer"))
      return std::nullopt;
    auto& n = at(id);
    int64_t value = 0;
    auto first = n.value.data();
    auto last = first + n.value.size();
    if (!n.value.empty() && *first == '+')
      ++first;
    auto res = std::from_chars(first, last, value);
    if (n.quoted || n.value.empty() || res.ec != std::errc{}
        || res.ptr != last) {
      if (res.ec == std::errc::result_out_of_range)
        error(id, label + ": " + quote(n.value) + " is out of range");
      else
        error(id, label + ": expected an integer, got " + quote(n.value));
      return std::nullopt;
    }
    if (value < lo || value > hi) {
      auto range = hi == std::numeric_limits<int64_t>::max()
                     ? "must be >= " + std::to_string(lo)
                     : "must be between " + std::to_string(lo) + " and "
                         + std::to_string(hi);
      error(id, label + ": " + range + " (got " + n.value + ")");
      return std::nullopt;
    }
    return value;
  }

  std::optional<double> number(node_id id, const std::string& label, double lo,
                               double hi) {
    if (!expect_scalar(id, label, "a number"))
      return std::nullopt;
    auto& n = at(id);
    double value = 0;
    auto first = n.value.data();
    auto last = first + n.value.size();
    if (!n.value.empty() && *first == '+')
      ++first;
    auto res = std::from_chars(first, last, value);
    if (n.quoted || n.value.empty() || res.ec != std::errc{} || res.ptr != last
        || !std::isfinite(value)) {
      error(id, label + ": expected a number, got " + quote(n.value));
      return std::nullopt;
    }
    if (value < lo || value > hi) {
      std::ostringstream range;
      if (hi == std::numeric_limits<double>::max())
        range << "must be >= " << lo;
      else
        range << "must be between " << lo << " and " << hi;
      error(id, label + ": " + range.str() + " (got " + n.value + ")");
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "true or false"))
      return std::nullopt;
    auto& n = at(id);
    if (!n.quoted) {
      if (n.value == "true" || n.value == "True" || n.value == "TRUE")
        return true;
      if (n.value == "false" || n.value == "False" || n.value == "FALSE")
        return false;
    }
    error(id, label + ": expected true or false, got " + quote(n.value));
    return std::nullopt;
  }

  std::optional<duration> dur(node_id id, const std::string& label,
                              bool allow_infinity = false,
                              duration min = duration::zero()) {
    if (!expect_scalar(id, label, "a duration"))
      return std::nullopt;
    auto& n = at(id);
    auto result = parse_duration(n.value, allow_infinity);
    if (auto* why = std::get_if<std::string>(&result)) {
      error(id, label + ": " + *why);
      return std::nullopt;
    }
    auto d = std::get<duration>(result);
    if (d < min) {
      error(id, label + ": must be at least " + format_duration(min) + " (got "
                  + n.value + ")");
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::uint64_t> size(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "a size"))
      return std::nullopt;
    auto& n = at(id);
    auto result = parse_size(n.value);
    if (auto* why = std::get_if<std::string>(&result)) {
      error(id, label + ": " + *why);
      return std::nullopt;
    }
    return std::get<std::uint64_t>(result);
  }

  std::optional<std::uint16_t> port(node_id id, const std::string& label) {
    if (auto p = integer(id, label, 1, 65535))
      return static_cast<std::uint16_t>(*p);
    return std::nullopt;
  }

  template <class Enum>
  std::optional<Enum> enumeration(node_id id, const std::string& label) {
    if (!expect_scalar(id, label, "one of: " + join(names_of<Enum>())))
      return std::nullopt;
    auto& n = at(id);
    if (auto value = from_string<Enum>(n.value))
      return value;
    auto names = names_of<Enum>();
    auto hint = did_you_mean(n.value, names);
    if (hint.empty())
      hint = " (expected one of: " + join(names) + ")";
    error(id, label + ": unknown value " + quote(n.value) + hint);
    return std::nullopt;
  }

  std::optional<std::vector<std::string>>
  string_list(node_id id, const std::string& label, bool allow_empty) {
    auto& n = at(id);
    if (n.type != yaml_node::kind::sequence) {
      error(id,
            label + ": expected a list, got " + std::string{describe(n.type)});
      return std::nullopt;
    }
    if (n.items.empty() && !allow_empty) {
      error(id, label + ": must not be empty");
      return std::nullopt;
    }
    std::vector<std::string> result;
    bool ok = true;
    for (std::size_t i = 0; i < n.items.size(); ++i) {
      auto item = string(n.items[i], label + "[" + std::to_string(i) + "]");
      if (item)
        result.push_back(std::move(*item));
      else
        ok = false;
    }
    if (!ok)
      return std::nullopt;
    return result;
  }

  /// An argv: a non-empty list of strings whose first element is not empty.
  std::optional<std::vector<std::string>> argv(node_id id,
                                               const std::string& label) {
    auto& n = at(id);
    if (n.type == yaml_node::kind::scalar) {
      error(id,
            label
              + ": expected a list (argv, e.g. [./bin/app, --port, \"80\"]); "
                "for a shell command line use 'shell:'");
      return std::nullopt;
    }
    auto result = string_list(id, label, false);
    if (result && result->front().empty()) {
      error(n.items.front(), label + "[0]: the program must not be empty");
      return std::nullopt;
    }
    // A program given as a relative path is relative to the config file,
    // like every other path in it; a bare name is looked up in PATH.
    if (result && result->front().find('/') != std::string::npos)
      result->front() = absolute(result->front());
    return result;
  }

private:
  const yaml_document& doc_;
  std::vector<config_error>& errors_;
  std::string base_dir_;
  std::size_t visits_ = 0;
  std::size_t budget_;
};

// -- fields: one mapping, its keys checked
// -------------------------------------

class fields {
public:
  struct entry {
    std::string key;
    node_id key_node;
    node_id value;
  };

  /// Reads the mapping at `id`; reports a non-mapping, duplicate keys and, if
  /// `allowed` is not empty, unknown keys. `prefix` labels messages.
  fields(walker& w, node_id id, std::string prefix,
         std::vector<std::string_view> allowed = {})
      : w_(w), id_(id), prefix_(std::move(prefix)) {
    auto& n = w.at(id);
    if (n.type != yaml_node::kind::map) {
      auto what = prefix_.empty() ? std::string{"expected a mapping"}
                                  : prefix_ + ": expected a mapping";
      w.error(id, what + ", got " + std::string{describe(n.type)});
      valid_ = false;
      return;
    }
    collect(id, false);
    if (allowed.empty())
      return;
    for (auto& e : entries_) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end())
        continue;
      w.error(e.key_node, label_prefix() + "unknown key " + quote(e.key)
                            + did_you_mean(e.key, allowed));
    }
  }

  bool valid() const { return valid_; }
  node_id id() const { return id_; }
  const std::vector<entry>& entries() const { return entries_; }

  std::optional<node_id> get(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key)
        return e.value;
    return std::nullopt;
  }

  bool has(std::string_view key) const { return get(key).has_value(); }

  std::optional<node_id> key_node(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key)
        return e.key_node;
    return std::nullopt;
  }

  std::string label(std::string_view key) const {
    return prefix_.empty() ? std::string{key}
                           : prefix_ + "." + std::string{key};
  }

  std::string label_prefix() const {
    return prefix_.empty() ? std::string{} : prefix_ + ": ";
  }

  /// Reports a missing required key at the mapping.
  void missing(std::string_view key) const {
    w_.error(id_, label_prefix() + "missing required key '" + std::string{key}
                    + "'");
  }

private:
  // Adds the entries of mapping `id`. Merged entries (`<<: *base`) never
  // override keys written in the mapping itself, as YAML's merge key says.
  void collect(node_id id, bool merged) {
    auto& n = w_.at(id);
    std::vector<node_id> merges;
    for (std::size_t i = 0; i + 1 < n.items.size(); i += 2) {
      auto key_id = n.items[i];
      auto value_id = n.items[i + 1];
      auto& key = w_.at(key_id);
      if (key.type != yaml_node::kind::scalar) {
        w_.error(key_id, label_prefix() + "keys must be strings, got "
                           + std::string{describe(key.type)});
        continue;
      }
      if (key.value == "<<" && !key.quoted) {
        merges.push_back(value_id);
        continue;
      }
      auto dup
        = std::find_if(entries_.begin(), entries_.end(),
                       [&](const entry& e) { return e.key == key.value; });
      if (dup != entries_.end()) {
        if (!merged) {
          auto first = w_.pos(dup->key_node);
          w_.error(key_id, label_prefix() + "duplicate key " + quote(key.value)
                             + " (first at line " + std::to_string(first.line)
                             + ")");
        }
        continue;
      }
      entries_.push_back({key.value, key_id, value_id});
    }
    for (auto m : merges) {
      auto& v = w_.at(m);
      if (v.type == yaml_node::kind::map) {
        collect(m, true);
      } else if (v.type == yaml_node::kind::sequence) {
        for (auto item : v.items) {
          if (w_.at(item).type == yaml_node::kind::map)
            collect(item, true);
          else
            w_.error(item, label_prefix() + "'<<' merges mappings only");
        }
      } else {
        w_.error(m, label_prefix() + "'<<' merges mappings only");
      }
    }
  }

  walker& w_;
  node_id id_;
  std::string prefix_;
  bool valid_ = true;
  std::vector<entry> entries_;
};

} // namespace grace::config::detail
