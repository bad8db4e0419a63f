// SPDX-License-Identifier: Apache-2.0
// Name -> factory registries for the pluggable parts: KV methods, tasks, metrics, model
// architectures. Each plugin file registers itself with one KVBENCH_REGISTER line at its end; the
// plugin folders are built as CMake OBJECT libraries so the registrations are never dropped by the
// linker. Names are a public schema (they appear in run directories and result files): never rename.
#pragma once

#include "harness/error.h"
#include "harness/params.h"
#include "harness/source_dir.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kvbench {

// What kind of component a registry holds ("method", "task", "metric", "architecture", "engine").
// Interface headers declare it with KVBENCH_REGISTRY_KIND; registries without one stay out of the
// catalog below.
template <class T>
struct RegistryKind {
  static constexpr const char* value = nullptr;
};

// Type-erased view of every registered component, for code that must not depend on the component
// interfaces (config validation, `kvbench list`): kind -> name -> entry.
struct CatalogEntry {
  std::string kind;
  std::string name;
  std::string description;
  ParamSpecs params;
  nlohmann::json extra;
};
inline std::map<std::string, std::map<std::string, CatalogEntry>>& catalog() {
  static std::map<std::string, std::map<std::string, CatalogEntry>> entries;
  return entries;
}

template <class T>
struct RegistryEntry {
  std::string name;
  std::string description;   // one line, shown by `kvbench list`
  ParamSpecs params;         // parameters with defaults and bounds
  std::function<std::unique_ptr<T>(const nlohmann::json& resolved_params)> make;
  nlohmann::json extra;      // kind-specific facts (a task's protocols, a metric's source, ...)
};

template <class T>
class Registry {
 public:
  static Registry& instance() {
    static Registry registry;
    return registry;
  }
  void add(RegistryEntry<T> entry) {
    KVBENCH_ASSERT(entries_.count(entry.name) == 0, "duplicate registration of ", entry.name);
    if (RegistryKind<T>::value != nullptr) {
      catalog()[RegistryKind<T>::value][entry.name] =
          CatalogEntry{RegistryKind<T>::value, entry.name, entry.description, entry.params, entry.extra};
    }
    std::string name = entry.name;
    entries_.emplace(std::move(name), std::move(entry));
  }
  const RegistryEntry<T>* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // Sorted by name.
  std::vector<const RegistryEntry<T>*> all() const {
    std::vector<const RegistryEntry<T>*> out;
    for (const auto& kv : entries_) out.push_back(&kv.second);
    return out;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }

 private:
  std::map<std::string, RegistryEntry<T>> entries_;
};

template <class T>
struct Registrar {
  // `source_file` (__FILE__ of the registering plugin) is kept in extra["source_file"], relative to
  // the source tree, so a test can check that every component has its test and config files.
  Registrar(const char* source_file, RegistryEntry<T> entry) {
    std::string file = source_file;
    const std::string root = source_dir() + "/";
    if (file.rfind(root, 0) == 0) {
      file = file.substr(root.size());
    } else {
      // An object compiled in another checkout (a ccache hit) carries that checkout's path.
      for (const char* folder : {"/methods/", "/datasets/", "/metrics/", "/reports/", "/harness/"}) {
        size_t at = file.rfind(folder);
        if (at != std::string::npos) {
          file = file.substr(at + 1);
          break;
        }
      }
    }
    if (!entry.extra.is_object()) entry.extra = nlohmann::json::object();
    entry.extra["source_file"] = file;
    Registry<T>::instance().add(std::move(entry));
  }
};

}  // namespace kvbench

// KVBENCH_REGISTRY_KIND(Interface, "method") at namespace scope kvbench, after the interface.
#define KVBENCH_REGISTRY_KIND(Interface, kind_name) \
  template <>                                       \
  struct RegistryKind<Interface> {                  \
    static constexpr const char* value = kind_name; \
  }

#define KVBENCH_REGISTRY_CONCAT_(a, b) a##b
#define KVBENCH_REGISTRY_CONCAT(a, b) KVBENCH_REGISTRY_CONCAT_(a, b)
// KVBENCH_REGISTER(Interface, RegistryEntry<Interface>{...}) at namespace scope of a plugin file.
#define KVBENCH_REGISTER(Interface, ...)                                          \
  static ::kvbench::Registrar<Interface> KVBENCH_REGISTRY_CONCAT(kvbench_registrar_, \
                                                                  __LINE__)(__FILE__, __VA_ARGS__)
