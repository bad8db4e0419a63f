// SPDX-License-Identifier: Apache-2.0
// The four Text2JSON-style domains of the synthetic generator (product specifications, medical
// professionals, organizations, movies): how to draw an entity name and its two attribute values,
// near-miss values, and the prose templates that state them. All draws use PythonRandom, so a
// seed gives the same text on every platform.
#pragma once

#include "harness/pytext/python_random.h"

#include <string>
#include <vector>

namespace kvbench::text2json {

struct Entity {
  std::string name;
  std::string value1;  // attribute key1 of its domain
  std::string value2;  // attribute key2
};

class Domain {
 public:
  virtual ~Domain() = default;
  virtual std::string id() const = 0;             // "products", "medical", "organizations", "movies"
  virtual std::string singular() const = 0;       // "product"
  virtual std::string plural() const = 0;         // "products"
  virtual std::string key1() const = 0;           // JSON key of attribute 1 ("price")
  virtual std::string key2() const = 0;
  virtual std::string describe1() const = 0;      // "price"
  virtual std::string describe2() const = 0;
  virtual std::string draw_name(PythonRandom& rnd) const = 0;
  virtual std::string draw_value1(PythonRandom& rnd) const = 0;
  virtual std::string draw_value2(PythonRandom& rnd) const = 0;
  // A different, plausible value for the same attribute (never equal to `value`).
  // Default: redraw until different; numeric attributes override with a close value.
  virtual std::string near_miss1(PythonRandom& rnd, const std::string& value) const;
  virtual std::string near_miss2(PythonRandom& rnd, const std::string& value) const;
  // Prose stating both attributes: one of several templates, with optional context sentences.
  virtual std::string describe_entity(PythonRandom& rnd, const Entity& e) const = 0;
  // Prose naming an entity without either attribute.
  virtual std::string mention_only(PythonRandom& rnd, const std::string& name) const = 0;
};

// "products" | "medical" | "organizations" | "movies"; nullptr for other names.
const Domain* find_domain(const std::string& id);
std::vector<std::string> domain_ids();

// Picks one of `options` uniformly.
const std::string& pick(PythonRandom& rnd, const std::vector<std::string>& options);
// Replaces every "{key}" in `pattern` (keys: name, v1, v2, w).
std::string fill(std::string pattern, const std::string& name, const std::string& v1,
                 const std::string& v2, const std::string& wrong = "");

}  // namespace kvbench::text2json
