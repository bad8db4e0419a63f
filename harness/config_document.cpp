// SPDX-License-Identifier: Apache-2.0
#include "harness/config_document.h"

#include "harness/error.h"
#include "harness/json_text.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace kvbench {
namespace {

std::string mark_text(const std::string& source, const YAML::Mark& mark) {
  if (mark.line < 0) return source;
  return str_cat(source, ":", mark.line + 1, ":", mark.column + 1);
}

// A plain scalar that looks like a number but lies outside the range of a double (1e999, or
// 1e-400, which strtod reports as ERANGE too) is refused rather than silently made inf or 0.
double config_double(const std::string& text, const std::string& where) {
  try {
    return std::stod(text);
  } catch (const std::out_of_range&) {
    KVBENCH_FAIL(ErrorKind::kConfig, where, ": the number ", text, " is outside the range of a 64-bit float");
  }
}

// Plain (unquoted) scalars are typed by the YAML 1.2 core schema; quoted ones are always strings.
// `where` (file:line:column) names the scalar in errors.
nlohmann::json scalar_to_json(const YAML::Node& node, const std::string& where) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  static const std::regex int_re(R"([-+]?[0-9]+)");
  static const std::regex float_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (std::regex_match(text, int_re)) {
    try {
      return std::stoll(text);
    } catch (const std::out_of_range&) {
      return config_double(text, where);
    }
  }
  if (std::regex_match(text, float_re)) return config_double(text, where);
  return text;
}

void convert(const YAML::Node& node, const std::string& source, const std::string& path,
             nlohmann::json& out, std::map<std::string, std::string>& origin) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out = nullptr;
      return;
    case YAML::NodeType::Scalar:
      out = scalar_to_json(node, mark_text(source, node.Mark()));
      return;
    case YAML::NodeType::Sequence: {
      out = nlohmann::json::array();
      size_t i = 0;
      for (const auto& item : node) {
        std::string item_path = str_cat(path, "[", i++, "]");
        origin[item_path] = mark_text(source, item.Mark());
        nlohmann::json v;
        convert(item, source, item_path, v, origin);
        out.push_back(std::move(v));
      }
      return;
    }
    case YAML::NodeType::Map: {
      out = nlohmann::json::object();
      for (const auto& kv : node) {
        const YAML::Node& key = kv.first;
        std::string where = mark_text(source, key.Mark());
        KVBENCH_CHECK_CONFIG(key.IsScalar(), where, ": mapping keys must be plain strings");
        const std::string& name = key.Scalar();
        // Sweep axes are named by key paths, so only they may contain '.'.
        bool axis_key = path == "sweep.grid" || path == "sweep.zip";
        KVBENCH_CHECK_CONFIG(!name.empty() && (axis_key || name.find('.') == std::string::npos),
                             where, ": invalid key '", name, "' (keys may not be empty or contain '.')");
        std::string key_path = path.empty() ? name : path + "." + name;
        KVBENCH_CHECK_CONFIG(!out.contains(name), where, ": duplicate key '", key_path,
                             "' (first written at ", origin[key_path], ")");
        origin[key_path] = where;
        convert(kv.second, source, key_path, out[name], origin);
      }
      return;
    }
  }
}

// Copies `overlay` into `base` key by key (mappings merge, everything else replaces) and moves the
// origins of everything under `path` over from `overlay_origin`.
void merge_into(nlohmann::json& base, const nlohmann::json& overlay, const std::string& path,
                std::map<std::string, std::string>& origin,
                const std::map<std::string, std::string>& overlay_origin) {
  auto erase_under = [&](const std::string& p) {
    for (auto it = origin.lower_bound(p); it != origin.end() && it->first.rfind(p, 0) == 0;) {
      char next = it->first.size() > p.size() ? it->first[p.size()] : '\0';
      if (next == '\0' || next == '.' || next == '[') it = origin.erase(it); else ++it;
    }
  };
  auto copy_under = [&](const std::string& p) {
    for (auto it = overlay_origin.lower_bound(p);
         it != overlay_origin.end() && it->first.rfind(p, 0) == 0; ++it) {
      char next = it->first.size() > p.size() ? it->first[p.size()] : '\0';
      if (next == '\0' || next == '.' || next == '[') origin[it->first] = it->second;
    }
  };
  for (const auto& [key, value] : overlay.items()) {
    std::string key_path = path.empty() ? key : path + "." + key;
    if (value.is_object() && base.contains(key) && base[key].is_object()) {
      auto it = overlay_origin.find(key_path);
      if (it != overlay_origin.end()) origin[key_path] = it->second;
      merge_into(base[key], value, key_path, origin, overlay_origin);
    } else {
      erase_under(key_path);
      base[key] = value;
      copy_under(key_path);
    }
  }
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

// Every key and string value must be UTF-8 (JSON text, run hashes and messages are); found by
// tests/fuzz: invalid bytes reached nlohmann's dump() and escaped as a foreign exception.
void check_utf8(const nlohmann::json& value, const std::string& path, const ConfigDocument& doc) {
  if (value.is_string()) {
    KVBENCH_CHECK_CONFIG(valid_utf8(value.get_ref<const std::string&>()), doc.locate(path), ": ", path,
                         ": the value is not valid UTF-8");
  } else if (value.is_object()) {
    for (const auto& [key, sub] : value.items()) {
      KVBENCH_CHECK_CONFIG(valid_utf8(key), doc.locate(path), ": a key under '", path, "' is not valid UTF-8");
      check_utf8(sub, path.empty() ? key : path + "." + key, doc);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) check_utf8(value[i], path + "[" + std::to_string(i) + "]", doc);
  }
}

ConfigDocument parse_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    KVBENCH_FAIL(ErrorKind::kConfig, mark_text(source, e.mark), ": ", e.msg);
  }
  ConfigDocument doc;
  doc.files.push_back(source);
  if (root.IsNull()) return doc;
  KVBENCH_CHECK_CONFIG(root.IsMap(), mark_text(source, root.Mark()),
                       ": a config must be a mapping at the top level");
  convert(root, source, "", doc.value, doc.origin);
  check_utf8(doc.value, "", doc);
  return doc;
}

ConfigDocument load_recursive(const std::filesystem::path& path, std::vector<std::string>& stack) {
  std::string shown = path.lexically_normal().string();
  std::string canonical = std::filesystem::weakly_canonical(path).string();
  for (const auto& s : stack)
    KVBENCH_CHECK_CONFIG(s != canonical, shown, ": include cycle (", shown, " includes itself)");
  std::ifstream in(path, std::ios::binary);
  KVBENCH_CHECK_CONFIG(in.good(), shown, ": cannot read config file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string ext = path.extension().string();
  KVBENCH_CHECK_CONFIG(ext == ".yaml" || ext == ".yml" || ext == ".json", shown,
                       ": config files must end in .yaml, .yml or .json");
  if (ext == ".json") {
    // JSON is parsed by the YAML parser (for positions), but must be valid JSON first.
    (void)parse_json_text(text.str(), ErrorKind::kConfig, shown);
  }
  ConfigDocument own = parse_yaml(text.str(), shown);

  ConfigDocument merged;
  if (own.value.contains("include")) {
    const nlohmann::json includes = own.value["include"];
    std::string where = own.locate("include");
    std::vector<std::string> paths;
    if (includes.is_string()) {
      paths.push_back(includes.get<std::string>());
    } else if (includes.is_array()) {
      for (const auto& p : includes) {
        KVBENCH_CHECK_CONFIG(p.is_string(), where, ": include: expected a path or a list of paths");
        paths.push_back(p.get<std::string>());
      }
    } else {
      KVBENCH_FAIL(ErrorKind::kConfig, where, ": include: expected a path or a list of paths");
    }
    stack.push_back(canonical);
    for (const auto& p : paths) {
      std::filesystem::path target = path.parent_path() / p;
      KVBENCH_CHECK_CONFIG(std::filesystem::exists(target), where, ": include: file not found: ",
                           target.lexically_normal().string());
      ConfigDocument inc = load_recursive(target, stack);
      merge_into(merged.value, inc.value, "", merged.origin, inc.origin);
      merged.files.insert(merged.files.end(), inc.files.begin(), inc.files.end());
    }
    stack.pop_back();
    own.value.erase("include");
    own.origin.erase("include");
  }
  merge_into(merged.value, own.value, "", merged.origin, own.origin);
  merged.files.push_back(shown);
  return merged;
}

}  // namespace

std::string ConfigDocument::locate(const std::string& key_path) const {
  std::string p = key_path;
  while (!p.empty()) {
    auto it = origin.find(p);
    if (it != origin.end()) return it->second;
    size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p = p.substr(0, cut);
  }
  return files.empty() ? "" : files.back();
}

ConfigDocument load_config_document(const std::filesystem::path& path) {
  std::vector<std::string> stack;
  return load_recursive(path, stack);
}

ConfigDocument parse_config_text(const std::string& text, const std::string& source) {
  return parse_yaml(text, source);
}

std::vector<std::string> split_key_path(const std::string& key_path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : key_path) {
    if (c == '.') {
      KVBENCH_CHECK_CONFIG(!cur.empty(), "invalid key path '", key_path, "'");
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  KVBENCH_CHECK_CONFIG(!cur.empty(), "invalid key path '", key_path, "'");
  parts.push_back(cur);
  return parts;
}

void set_key_path(ConfigDocument& doc, const std::string& key_path, const nlohmann::json& value,
                  const std::string& origin) {
  std::vector<std::string> parts = split_key_path(key_path);
  nlohmann::json* node = &doc.value;
  std::string prefix;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix = prefix.empty() ? parts[i] : prefix + "." + parts[i];
    nlohmann::json& next = (*node)[parts[i]];
    if (next.is_null()) next = nlohmann::json::object();
    KVBENCH_CHECK_CONFIG(next.is_object(), origin, ": cannot set '", key_path, "': '", prefix,
                         "' is not a mapping");
    node = &next;
  }
  nlohmann::json overlay = nlohmann::json::object();
  overlay[parts.back()] = value;
  std::map<std::string, std::string> overlay_origin;
  // Every key under the assigned path comes from this assignment.
  std::function<void(const nlohmann::json&, const std::string&)> mark =
      [&](const nlohmann::json& v, const std::string& p) {
        overlay_origin[p] = origin;
        if (v.is_object())
          for (const auto& [k, sub] : v.items()) mark(sub, p + "." + k);
      };
  mark(value, key_path);
  std::string parent = key_path.substr(0, key_path.size() - parts.back().size());
  if (!parent.empty()) parent.pop_back();
  merge_into(*node, overlay, parent, doc.origin, overlay_origin);
}

nlohmann::json get_key_path(const nlohmann::json& value, const std::string& key_path) {
  const nlohmann::json* node = &value;
  for (const auto& part : split_key_path(key_path)) {
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
  }
  return *node;
}

void apply_override(ConfigDocument& doc, const std::string& assignment) {
  size_t eq = assignment.find('=');
  KVBENCH_CHECK_KIND(ErrorKind::kUsage, eq != std::string::npos && eq > 0, "--set ", assignment,
                     ": expected key.path=value");
  std::string key = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  std::string origin = "--set " + assignment;
  nlohmann::json value;
  // Parse the value as a one-key YAML document so it is typed exactly like a file value.
  ConfigDocument parsed = parse_yaml("v: " + (text.empty() ? std::string("''") : text), origin);
  value = parsed.value["v"];
  set_key_path(doc, key, value, origin);
}

}  // namespace kvbench
