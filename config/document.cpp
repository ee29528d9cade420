#include "config/document.hpp"

#include <sstream>
#include <unordered_map>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace grace::config {

namespace {

// -- text checks done before yaml-cpp sees the bytes
// ---------------------------

struct text_position {
  int line = 1;
  int column = 1;
};

// Returns the position of byte `offset` (columns count code points).
text_position position_of(std::string_view text, std::size_t offset) {
  text_position pos;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++pos.line;
      pos.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++pos.column;
    }
  }
  return pos;
}

// Returns the offset of the first byte that is not valid UTF-8, or npos.
std::size_t find_invalid_utf8(std::string_view text) {
  auto byte
    = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return i;
    }
    if (i + len > text.size())
      return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80)
        return i;
      cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    // Overlong encodings, UTF-16 surrogates and values past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800)
        || (len == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF)
        || cp > 0x10FFFF)
      return i;
    i += len;
  }
  return std::string_view::npos;
}

// Lines whose indentation contains a tab, up to (and including) `last_line`.
std::vector<text_position> tab_indented_lines(std::string_view text,
                                              int last_line) {
  std::vector<text_position> result;
  int line = 1;
  std::size_t i = 0;
  while (i < text.size() && line <= last_line) {
    int column = 1;
    std::optional<int> tab_column;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      if (text[i] == '\t' && !tab_column)
        tab_column = column;
      ++i;
      ++column;
    }
    bool has_content
      = i < text.size() && text[i] != '\n' && text[i] != '\r' && text[i] != '#';
    if (tab_column && has_content)
      result.push_back({line, *tab_column});
    while (i < text.size() && text[i] != '\n')
      ++i;
    ++i;
    ++line;
  }
  return result;
}

// -- yaml-cpp events -> yaml_document
// -------------------------------------------

struct alias_error {
  YAML::Mark mark;
};

class tree_builder : public YAML::EventHandler {
public:
  explicit tree_builder(yaml_document& doc) : doc_(doc) {}

  void OnDocumentStart(const YAML::Mark&) override {}

  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    add(yaml_node::kind::null, mark, anchor, false, {});
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto i = anchors_.find(anchor);
    if (i == anchors_.end())
      throw alias_error{mark};
    doc_.nodes[i->second].alias = true;
    attach(i->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag,
                YAML::anchor_t anchor, const std::string& value) override {
    add(yaml_node::kind::scalar, mark, anchor, tag != "?", value);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&,
                       YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open_.push_back(add(yaml_node::kind::sequence, mark, anchor, false, {}));
  }

  void OnSequenceEnd() override { open_.pop_back(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&,
                  YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open_.push_back(add(yaml_node::kind::map, mark, anchor, false, {}));
  }

  void OnMapEnd() override { open_.pop_back(); }

private:
  node_id add(yaml_node::kind type, const YAML::Mark& mark,
              YAML::anchor_t anchor, bool quoted, const std::string& value) {
    yaml_node n;
    n.type = type;
    n.quoted = quoted;
    n.line = mark.line + 1;
    n.column = mark.column + 1;
    n.value = value;
    auto id = static_cast<node_id>(doc_.nodes.size());
    doc_.nodes.push_back(std::move(n));
    if (anchor != YAML::NullAnchor)
      anchors_[anchor] = id;
    attach(id);
    return id;
  }

  void attach(node_id id) {
    if (open_.empty())
      doc_.root = id;
    else
      doc_.nodes[open_.back()].items.push_back(id);
  }

  yaml_document& doc_;
  std::vector<node_id> open_;
  std::unordered_map<YAML::anchor_t, node_id> anchors_;
};

config_error error_at(const std::string& file, int line, int column,
                      std::string message) {
  return {{file, line, column}, std::move(message)};
}

config_error error_at(const std::string& file, const YAML::Mark& mark,
                      std::string message) {
  if (mark.is_null())
    return error_at(file, 1, 1, std::move(message));
  return error_at(file, mark.line + 1, mark.column + 1, std::move(message));
}

} // namespace

yaml_document parse_yaml(std::string_view text, const std::string& file,
                         std::vector<config_error>& errors) {
  yaml_document doc;
  doc.file = file;
  if (text.size() > max_config_bytes) {
    errors.push_back(error_at(
      file, 1, 1,
      "file is too large (" + std::to_string(text.size()) + " bytes, at most "
        + std::to_string(max_config_bytes) + ")"));
    return doc;
  }
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF")) {
    errors.push_back(error_at(file, 1, 1,
                              "UTF-16 text; Grace reads UTF-8 (convert with: "
                              "iconv -f UTF-16 -t UTF-8)"));
    return doc;
  }
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    auto pos = position_of(text, nul);
    errors.push_back(error_at(file, pos.line, pos.column,
                              "not a text file (NUL byte); expected YAML"));
    return doc;
  }
  if (auto bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    auto pos = position_of(text, bad);
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x",
                  static_cast<unsigned char>(text[bad]));
    errors.push_back(error_at(file, pos.line, pos.column,
                              std::string{"invalid UTF-8 (byte "} + hex
                                + "); expected a UTF-8 text file"));
    return doc;
  }
  if (text.starts_with("\xEF\xBB\xBF"))
    text.remove_prefix(3);
  std::istringstream in{std::string{text}};
  try {
    YAML::Parser parser{in};
    tree_builder builder{doc};
    if (!parser.HandleNextDocument(builder))
      return doc; // empty: the loader says what it expected
    yaml_document extra;
    tree_builder ignore{extra};
    if (parser.HandleNextDocument(ignore)) {
      auto line = extra.root ? extra.nodes[*extra.root].line : 1;
      errors.push_back(error_at(
        file, line, 1, "several YAML documents in one file; expected one"));
    }
  } catch (const alias_error& e) {
    errors.push_back(error_at(file, e.mark, "alias to an unknown anchor"));
  } catch (const YAML::DeepRecursion& e) {
    errors.push_back(error_at(
      file, e.mark,
      "nesting too deep (more than about 500 levels of YAML collections)"));
  } catch (const YAML::Exception& e) {
    auto line = e.mark.is_null() ? 1 : e.mark.line + 1;
    auto tabs = tab_indented_lines(text, line);
    if (!tabs.empty()) {
      for (auto& t : tabs)
        errors.push_back(
          error_at(file, t.line, t.column,
                   "tab character in indentation (YAML allows only spaces)"));
    } else {
      errors.push_back(error_at(file, e.mark, "YAML syntax error: " + e.msg));
    }
  } catch (const std::exception& e) {
    errors.push_back(
      error_at(file, 1, 1, std::string{"cannot parse YAML: "} + e.what()));
  }
  return doc;
}

} // namespace grace::config
