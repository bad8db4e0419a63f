// SPDX-License-Identifier: Apache-2.0
// Vocabularies and prose templates of the four synthetic Text2JSON domains. Values never contain
// '[' , ']' or U+2019 (the scorer treats those specially); names are ASCII.
#include "datasets/text2json_domains.h"

#include "harness/error.h"

#include <algorithm>
#include <map>
#include <memory>

namespace kvbench::text2json {

const std::string& pick(PythonRandom& rnd, const std::vector<std::string>& options) {
  KVBENCH_ASSERT(!options.empty(), "pick from an empty list");
  return options[static_cast<size_t>(rnd.randbelow(options.size()))];
}

std::string fill(std::string pattern, const std::string& name, const std::string& v1,
                 const std::string& v2, const std::string& wrong) {
  const std::pair<const char*, const std::string*> keys[] = {
      {"{name}", &name}, {"{v1}", &v1}, {"{v2}", &v2}, {"{w}", &wrong}};
  for (const auto& [key, value] : keys) {
    const std::string k = key;
    for (size_t at = pattern.find(k); at != std::string::npos; at = pattern.find(k, at + value->size()))
      pattern.replace(at, k.size(), *value);
  }
  return pattern;
}

std::string Domain::near_miss1(PythonRandom& rnd, const std::string& value) const {
  for (int i = 0; i < 100; ++i) {
    std::string v = draw_value1(rnd);
    if (v != value) return v;
  }
  KVBENCH_ASSERT(false, "no near-miss value for ", value);
  return {};
}

std::string Domain::near_miss2(PythonRandom& rnd, const std::string& value) const {
  for (int i = 0; i < 100; ++i) {
    std::string v = draw_value2(rnd);
    if (v != value) return v;
  }
  KVBENCH_ASSERT(false, "no near-miss value for ", value);
  return {};
}

namespace {

int64_t draw_int(PythonRandom& rnd, int64_t lo, int64_t hi) {  // inclusive
  return lo + static_cast<int64_t>(rnd.randbelow(static_cast<uint64_t>(hi - lo + 1)));
}

// A year close to `value` (1..4 away), as a string.
std::string near_year(PythonRandom& rnd, const std::string& value) {
  int64_t delta = draw_int(rnd, 1, 4) * (rnd.randbelow(2) ? 1 : -1);
  return std::to_string(std::stoll(value) + delta);
}

const std::vector<std::string> kFirstNames = {
    "Amelia", "Tomasz", "Priya", "Kwame", "Ingrid", "Mateo", "Yuki", "Olufemi", "Sofia", "Henrik",
    "Leila", "Dmitri", "Camille", "Rafael", "Anika", "Desmond", "Mei", "Gustavo", "Hana", "Ruairi",
    "Zainab", "Pavel", "Lucia", "Anders", "Imani", "Felipe", "Noor", "Stellan", "Ayesha", "Bruno",
    "Thandiwe", "Oskar", "Valentina", "Jarrah", "Elif", "Marcus", "Sakura", "Idris", "Greta", "Tobias"};
const std::vector<std::string> kLastNames = {
    "Novak", "Okafor", "Lindqvist", "Barros", "Tanaka", "Haddad", "Kowalczyk", "Mensah", "Ferreira",
    "Ivanova", "Delacroix", "Nakamura", "Oyelaran", "Castellanos", "Bergstrom", "Achterberg",
    "Rahman", "Vukovic", "Moreau", "Szabo", "Adeyemi", "Halloran", "Esposito", "Quintero", "Petrov",
    "Lindgren", "Abernathy", "Kaur", "Dubois", "Marchetti", "Yilmaz", "Fitzgerald", "Oduya",
    "Sandoval", "Hartmann", "Nieminen", "Bianchi", "Takahashi", "Obradovic", "Whitcombe"};

std::string person(PythonRandom& rnd) { return pick(rnd, kFirstNames) + " " + pick(rnd, kLastNames); }

const std::vector<std::string> kAsides = {
    "Several readers wrote in about it afterwards.",
    "The details were confirmed in a follow-up interview.",
    "This was noted in the quarterly summary as well.",
    "Few people outside the field paid attention at the time.",
    "The information comes from the official listing.",
    "It has been cited repeatedly since then.",
};

std::string with_aside(PythonRandom& rnd, const std::string& text) {
  return rnd.randbelow(3) == 0 ? text + " " + pick(rnd, kAsides) : text;
}

class Products : public Domain {
 public:
  std::string id() const override { return "products"; }
  std::string singular() const override { return "product"; }
  std::string plural() const override { return "products"; }
  std::string key1() const override { return "price"; }
  std::string key2() const override { return "weight"; }
  std::string describe1() const override { return "price"; }
  std::string describe2() const override { return "weight"; }
  std::string draw_name(PythonRandom& rnd) const override {
    static const std::vector<std::string> brands = {
        "Vexora", "Quillon", "Brantel", "Orrisa", "Tamsk", "Lumecraft", "Korvath", "Zephyra",
        "Halden", "Nimbrook", "Castor", "Velmont", "Praxil", "Ondura", "Sylvane", "Trevik"};
    static const std::vector<std::string> kinds = {
        "Blender", "Desk Lamp", "Air Purifier", "Espresso Machine", "Cordless Drill", "Smart Speaker",
        "Rice Cooker", "Monitor Arm", "Hiking Backpack", "Space Heater", "Toaster Oven",
        "Electric Kettle", "Robot Vacuum", "Standing Desk", "Food Processor", "Projector"};
    std::string series = std::string(1, static_cast<char>('A' + rnd.randbelow(26))) +
                         std::to_string(draw_int(rnd, 2, 990));
    return pick(rnd, brands) + " " + series + " " + pick(rnd, kinds);
  }
  std::string draw_value1(PythonRandom& rnd) const override {
    static const std::vector<std::string> cents = {".99", ".00", ".49", ".95", ".50"};
    return "$" + std::to_string(draw_int(rnd, 19, 2499)) + pick(rnd, cents);
  }
  std::string draw_value2(PythonRandom& rnd) const override {
    int64_t grams = draw_int(rnd, 180, 24000);
    if (grams < 1000) return std::to_string(grams) + " g";
    return std::to_string(grams / 1000) + "." + std::to_string((grams % 1000) / 100) +
           std::to_string((grams % 100) / 10) + " kg";
  }
  // A price 5-30% away with the same cents; a weight 5-30% away in the same unit style.
  std::string near_miss1(PythonRandom& rnd, const std::string& value) const override {
    const size_t dot = value.find('.');
    const int64_t dollars = std::stoll(value.substr(1, dot - 1));
    const int64_t delta = std::max<int64_t>(1, dollars * draw_int(rnd, 5, 30) / 100);
    const int64_t moved = rnd.randbelow(2) || dollars - delta < 1 ? dollars + delta : dollars - delta;
    return "$" + std::to_string(moved) + value.substr(dot);
  }
  std::string near_miss2(PythonRandom& rnd, const std::string& value) const override {
    for (int i = 0; i < 100; ++i) {
      std::string v = draw_value2(rnd);
      if (v != value && v.substr(v.size() - 2) == value.substr(value.size() - 2)) return v;
    }
    return Domain::near_miss2(rnd, value);
  }
  std::string describe_entity(PythonRandom& rnd, const Entity& e) const override {
    static const std::vector<std::string> templates = {
        "The {name} retails for {v1} and weighs {v2}.",
        "Weighing in at {v2}, the {name} carries a price tag of {v1}.",
        "Among the newer models is the {name}. It costs {v1} and comes in at {v2}.",
        "Customers can order the {name} for {v1}; according to the spec sheet its weight is {v2}.",
        "Spec sheet, {name}: price {v1}, weight {v2}.",
        "At {v1}, the {name} is not cheap, but at {v2} it is easy to carry around.",
        "The store lists the {name} at {v1}. The manufacturer gives its weight as {v2}.",
    };
    return with_aside(rnd, fill(pick(rnd, templates), e.name, e.value1, e.value2));
  }
  std::string mention_only(PythonRandom& rnd, const std::string& name) const override {
    static const std::vector<std::string> templates = {
        "A reviewer briefly compared it with the {name}, without giving any figures.",
        "The {name} was announced as well, but no price or weight has been published yet.",
        "Some shoppers asked about the {name}; the store had no details to share.",
    };
    return fill(pick(rnd, templates), name, "", "");
  }
};

class Medical : public Domain {
 public:
  std::string id() const override { return "medical"; }
  std::string singular() const override { return "medical professional"; }
  std::string plural() const override { return "medical professionals"; }
  std::string key1() const override { return "specialty"; }
  std::string key2() const override { return "hospital"; }
  std::string describe1() const override { return "medical specialty"; }
  std::string describe2() const override { return "hospital"; }
  std::string draw_name(PythonRandom& rnd) const override { return "Dr. " + person(rnd); }
  std::string draw_value1(PythonRandom& rnd) const override {
    static const std::vector<std::string> specialties = {
        "cardiology", "dermatology", "neurology", "oncology", "pediatrics", "radiology",
        "orthopedic surgery", "endocrinology", "gastroenterology", "nephrology", "psychiatry",
        "rheumatology", "anesthesiology", "ophthalmology", "pulmonology", "urology",
        "hematology", "geriatrics", "infectious disease", "emergency medicine"};
    return pick(rnd, specialties);
  }
  std::string draw_value2(PythonRandom& rnd) const override {
    static const std::vector<std::string> places = {
        "Riverside", "Saint Brendan", "Northgate", "Harbor View", "Willow Creek", "Mount Alder",
        "Eastfield", "Cedar Ridge", "Lakeshore", "Greystone", "Ashford", "Pinecrest", "Fairhaven",
        "Kingsbridge", "Maple Grove", "Westbrook"};
    static const std::vector<std::string> kinds = {
        "General Hospital", "Medical Center", "University Hospital", "Memorial Hospital",
        "Regional Clinic", "Community Hospital"};
    return pick(rnd, places) + " " + pick(rnd, kinds);
  }
  std::string describe_entity(PythonRandom& rnd, const Entity& e) const override {
    static const std::vector<std::string> templates = {
        "{name} practices {v1} at {v2}.",
        "At {v2}, {name} leads the {v1} team.",
        "{name}, a specialist in {v1}, joined {v2} after finishing a residency there.",
        "Patients referred for {v1} are often seen by {name}, who works at {v2}.",
        "Staff record: {name}; specialty: {v1}; affiliated hospital: {v2}.",
        "{name} has spent the last decade at {v2}, where the focus of the practice is {v1}.",
        "Colleagues at {v2} describe {name} as one of the most careful people in {v1}.",
    };
    return with_aside(rnd, fill(pick(rnd, templates), e.name, e.value1, e.value2));
  }
  std::string mention_only(PythonRandom& rnd, const std::string& name) const override {
    static const std::vector<std::string> templates = {
        "{name} also attended the conference, though the nature of the visit was not described.",
        "A letter signed by {name} was read aloud at the meeting.",
        "{name} declined to comment for this article.",
    };
    return fill(pick(rnd, templates), name, "", "");
  }
};

class Organizations : public Domain {
 public:
  std::string id() const override { return "organizations"; }
  std::string singular() const override { return "organization"; }
  std::string plural() const override { return "organizations"; }
  std::string key1() const override { return "headquarters"; }
  std::string key2() const override { return "founded"; }
  std::string describe1() const override { return "headquarters city"; }
  std::string describe2() const override { return "founding year"; }
  std::string draw_name(PythonRandom& rnd) const override {
    static const std::vector<std::string> heads = {
        "Halvorsen", "Bluefin", "Ironleaf", "Corvid", "Suncrest", "Meridian", "Tessaly", "Oakhurst",
        "Polaris", "Granite Bay", "Kestrel", "Amberline", "Northwind", "Silverpine", "Redwater",
        "Calder", "Westmarch", "Brightwell"};
    static const std::vector<std::string> fields = {
        "Maritime", "Logistics", "Analytics", "Biotech", "Energy", "Textiles", "Robotics", "Foods",
        "Capital", "Aerospace", "Pharmaceuticals", "Software", "Mining", "Media"};
    static const std::vector<std::string> forms = {"Group", "Holdings", "Cooperative", "Labs",
                                                   "Partners", "Foundation", "Institute", "Inc."};
    return pick(rnd, heads) + " " + pick(rnd, fields) + " " + pick(rnd, forms);
  }
  std::string draw_value1(PythonRandom& rnd) const override {
    static const std::vector<std::string> cities = {
        "Tallinn", "Porto", "Rotterdam", "Osaka", "Nairobi", "Montevideo", "Calgary", "Gdansk",
        "Adelaide", "Bergen", "Ljubljana", "Valparaiso", "Tampere", "Lyon", "Kraków", "Busan",
        "Accra", "Leipzig", "Halifax", "Cebu", "Bilbao", "Aarhus", "Brno", "Wellington"};
    return pick(rnd, cities);
  }
  std::string draw_value2(PythonRandom& rnd) const override {
    return std::to_string(draw_int(rnd, 1852, 2019));
  }
  std::string near_miss2(PythonRandom& rnd, const std::string& value) const override {
    return near_year(rnd, value);
  }
  std::string describe_entity(PythonRandom& rnd, const Entity& e) const override {
    static const std::vector<std::string> templates = {
        "{name} was founded in {v2} and is headquartered in {v1}.",
        "Since its founding in {v2}, {name} has kept its head office in {v1}.",
        "Headquartered in {v1}, {name} traces its history back to {v2}.",
        "Registry entry: {name}, head office {v1}, established {v2}.",
        "{name} opened its doors in {v2}; today its headquarters are in {v1}.",
        "Few know that {name}, now based in {v1}, started out in {v2} as a small workshop.",
        "The annual report of {name} repeats two facts on its first page: headquarters {v1}, founded {v2}.",
    };
    return with_aside(rnd, fill(pick(rnd, templates), e.name, e.value1, e.value2));
  }
  std::string mention_only(PythonRandom& rnd, const std::string& name) const override {
    static const std::vector<std::string> templates = {
        "{name} was among the sponsors, according to the programme.",
        "Representatives of {name} were present but did not speak.",
        "{name} was mentioned as a possible partner, with no further details.",
    };
    return fill(pick(rnd, templates), name, "", "");
  }
};

class Movies : public Domain {
 public:
  std::string id() const override { return "movies"; }
  std::string singular() const override { return "movie"; }
  std::string plural() const override { return "movies"; }
  std::string key1() const override { return "director"; }
  std::string key2() const override { return "release_year"; }
  std::string describe1() const override { return "director"; }
  std::string describe2() const override { return "release year"; }
  std::string draw_name(PythonRandom& rnd) const override {
    static const std::vector<std::string> adjectives = {
        "Silent", "Crimson", "Forgotten", "Hollow", "Distant", "Burning", "Paper", "Glass", "Last",
        "Midnight", "Velvet", "Broken", "Golden", "Northern", "Restless", "Salt", "Iron", "Quiet"};
    static const std::vector<std::string> nouns = {
        "Orchard", "Harbor", "Letters", "Lantern", "Frontier", "Garden", "Archive", "Tides",
        "Kingdom", "Station", "Winter", "Meridian", "Carousel", "Lighthouse", "Horizon", "River"};
    static const std::vector<std::string> shapes = {"The {a} {n}", "{a} {n}", "A {a} {n}",
                                                    "The {n} of {a} Days", "Beyond the {a} {n}"};
    std::string title = pick(rnd, shapes);
    std::string a = pick(rnd, adjectives), n = pick(rnd, nouns);
    title.replace(title.find("{a}"), 3, a);
    title.replace(title.find("{n}"), 3, n);
    return title;
  }
  std::string draw_value1(PythonRandom& rnd) const override { return person(rnd); }
  std::string draw_value2(PythonRandom& rnd) const override {
    return std::to_string(draw_int(rnd, 1948, 2024));
  }
  std::string near_miss2(PythonRandom& rnd, const std::string& value) const override {
    return near_year(rnd, value);
  }
  std::string describe_entity(PythonRandom& rnd, const Entity& e) const override {
    static const std::vector<std::string> templates = {
        "\"{name}\" was directed by {v1} and released in {v2}.",
        "{v1} directed \"{name}\", which reached cinemas in {v2}.",
        "Released in {v2}, \"{name}\" remains the best-known film by director {v1}.",
        "Film database entry: \"{name}\" ({v2}), directed by {v1}.",
        "In {v2}, audiences first saw \"{name}\"; {v1} was behind the camera.",
        "The critics who saw \"{name}\" in {v2} mostly praised the direction of {v1}.",
    };
    return with_aside(rnd, fill(pick(rnd, templates), e.name, e.value1, e.value2));
  }
  std::string mention_only(PythonRandom& rnd, const std::string& name) const override {
    static const std::vector<std::string> templates = {
        "\"{name}\" was also screened, although the programme said little about it.",
        "Some viewers compared it with \"{name}\", without saying more.",
        "A poster for \"{name}\" hung in the lobby.",
    };
    return fill(pick(rnd, templates), name, "", "");
  }
};

const std::map<std::string, std::unique_ptr<Domain>>& domains() {
  static const auto* table = [] {
    auto* m = new std::map<std::string, std::unique_ptr<Domain>>();
    (*m)["products"] = std::make_unique<Products>();
    (*m)["medical"] = std::make_unique<Medical>();
    (*m)["organizations"] = std::make_unique<Organizations>();
    (*m)["movies"] = std::make_unique<Movies>();
    return m;
  }();
  return *table;
}

}  // namespace

const Domain* find_domain(const std::string& id) {
  auto it = domains().find(id);
  return it == domains().end() ? nullptr : it->second.get();
}

std::vector<std::string> domain_ids() { return {"products", "medical", "organizations", "movies"}; }

}  // namespace kvbench::text2json
