#include "sim/topology_loader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace vfiosim::sim {
namespace {

using nlohmann::json;

constexpr size_t kMaxFileBytes = 4u << 20;

// JSON Pointer (RFC 6901) escaping of one reference token.
std::string Escape(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Join(const std::string& path, std::string_view token) {
  return path + "/" + Escape(token);
}
std::string Join(const std::string& path, size_t index) {
  return path + "/" + std::to_string(index);
}

// A value as the user wrote it, shortened, for "got ..." in messages.
std::string Shown(const json& j) {
  std::string text = j.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// Finds duplicate object keys while nlohmann parses (it keeps the last one
// silently, which would hide a typo'd or doubled entry).
class DuplicateKeyFinder {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        CountElement();
        frames_.push_back(Frame{event == json::parse_event_t::object_start, {}, {}, -1});
        break;
      case json::parse_event_t::key:
        if (!frames_.empty()) {
          Frame& top = frames_.back();
          top.key = parsed.get<std::string>();
          if (!top.keys.insert(top.key).second && first_path_.empty()) {
            first_path_ = PathOfTop() + "/" + Escape(top.key);
            first_key_ = top.key;
          }
        }
        break;
      case json::parse_event_t::value:
        CountElement();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
    }
    return true;
  }
  const std::string& path() const { return first_path_; }
  const std::string& key() const { return first_key_; }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string> keys;
    std::string key;  // objects: key of the member being read
    long index;       // arrays: index of the element being read
  };
  void CountElement() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().index;
  }
  std::string PathOfTop() const {
    std::string path;
    for (size_t k = 0; k + 1 < frames_.size(); ++k) {
      path +=
          "/" + (frames_[k].is_object ? Escape(frames_[k].key) : std::to_string(frames_[k].index));
    }
    return path;
  }
  std::vector<Frame> frames_;
  std::string first_path_;
  std::string first_key_;
};

// Captures nlohmann's syntax-error text (with line and column) without exceptions.
struct SyntaxErrorFinder : nlohmann::json_sax<json> {
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    message = ex.what();
    // Drop the "[json.exception.parse_error.101] " tag; users want the text.
    if (size_t pos = message.find("] ");
        message.rfind("[json.exception", 0) == 0 && pos != std::string::npos) {
      message = message.substr(pos + 2);
    }
    return false;
  }
};

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  bool Fail(const std::string& path, const std::string& what) {
    message_ = source_ + ": " + (path.empty() ? "/" : path) + ": " + what;
    return false;
  }
  const std::string& message() const { return message_; }

  bool Parse(std::string_view text, json* out) {
    DuplicateKeyFinder dups;
    *out = json::parse(text.begin(), text.end(), std::ref(dups), /*allow_exceptions=*/false);
    if (out->is_discarded()) {
      SyntaxErrorFinder finder;
      json::sax_parse(text.begin(), text.end(), &finder);
      message_ = source_ + ": invalid JSON: " +
                 (finder.message.empty() ? std::string("parse error") : finder.message);
      return false;
    }
    if (!dups.path().empty()) return Fail(dups.path(), "duplicate key \"" + dups.key() + "\"");
    return true;
  }

  bool Machine(const json& doc, TopologySpec* spec) {
    if (!doc.is_object()) return Fail("", "expected a JSON object, got " + Shown(doc));
    if (!Keys(doc, "", {"comment", "profile", "iommu", "dma_entry_limit", "group_base", "bus"})) {
      return false;
    }
    if (!Comment(doc, "")) return false;
    if (doc.contains("profile") && !String(doc["profile"], "/profile", &spec->profile)) {
      return false;
    }
    if (doc.contains("iommu") && !Iommu(doc["iommu"], "/iommu", &spec->iommu)) return false;
    uint64_t v = 0;
    if (doc.contains("dma_entry_limit")) {
      if (!Uint(doc["dma_entry_limit"], "/dma_entry_limit", 0xffffffffu, &v)) return false;
      spec->dma_entry_limit = static_cast<uint32_t>(v);
    }
    if (doc.contains("group_base")) {
      if (!Uint(doc["group_base"], "/group_base", kMaxGroupId, &v)) return false;
      spec->group_base = static_cast<core::GroupId>(v);
    }
    if (!doc.contains("bus")) return Fail("/bus", "missing required key (the list of root buses)");
    const json& buses = doc["bus"];
    if (!buses.is_array() || buses.empty()) {
      return Fail("/bus", "expected a non-empty array of root buses, got " + Shown(buses));
    }
    for (size_t r = 0; r < buses.size(); ++r) {
      if (!RootBus(buses[r], Join("/bus", r), spec)) return false;
    }
    return true;
  }

  // Turns a Build() error into a message at the JSON path it came from.
  void BuildFailed(const TopologyError& e) {
    std::string path;
    switch (e.subject) {
      case TopologyError::Subject::kMachine:
        break;
      case TopologyError::Subject::kRootBus:
        path = root_paths_.at(e.index);
        break;
      case TopologyError::Subject::kFunction:
        path = function_paths_.at(e.index);
        break;
    }
    if (!e.field.empty()) path += "/" + e.field;
    Fail(path, e.message);
  }

 private:
  bool Keys(const json& obj, const std::string& path, std::initializer_list<std::string_view> ok) {
    for (const auto& [key, value] : obj.items()) {
      bool known = false;
      for (std::string_view k : ok) known = known || k == key;
      if (known) continue;
      std::string list;
      for (std::string_view k : ok) list += (list.empty() ? "" : ", ") + std::string(k);
      return Fail(Join(path, key), "unknown key \"" + key + "\"; expected one of: " + list);
    }
    return true;
  }

  bool Comment(const json& obj, const std::string& path) {
    std::string ignored;
    return !obj.contains("comment") || String(obj["comment"], Join(path, "comment"), &ignored);
  }

  bool String(const json& j, const std::string& path, std::string* out) {
    if (!j.is_string()) return Fail(path, "expected a string, got " + Shown(j));
    *out = j.get<std::string>();
    return true;
  }

  bool Bool(const json& j, const std::string& path, bool* out) {
    if (!j.is_boolean()) return Fail(path, "expected true or false, got " + Shown(j));
    *out = j.get<bool>();
    return true;
  }

  bool Uint(const json& j, const std::string& path, uint64_t max, uint64_t* out) {
    if (!j.is_number_unsigned() || j.get<uint64_t>() > max) {
      return Fail(path,
                  "expected an integer from 0 to " + std::to_string(max) + ", got " + Shown(j));
    }
    *out = j.get<uint64_t>();
    return true;
  }

  // "0x" and 1..bits/4 hex digits.
  bool Hex(const json& j, const std::string& path, int bits, uint64_t* out) {
    static constexpr const char* kExamples[] = {"0x12", "0x1234", "0x123456", "0xfee00000"};
    const char* example = bits == 8    ? kExamples[0]
                          : bits == 16 ? kExamples[1]
                          : bits == 24 ? kExamples[2]
                                       : kExamples[3];
    const std::string expected = std::string(bits == 8 ? "expected an " : "expected a ") +
                                 std::to_string(bits) + "-bit hex string like \"" + example +
                                 "\", got " + Shown(j);
    if (!j.is_string()) return Fail(path, expected);
    const std::string& s = j.get_ref<const std::string&>();
    if (s.size() < 3 || s.size() > 2 + static_cast<size_t>(bits / 4) || s[0] != '0' ||
        s[1] != 'x') {
      return Fail(path, expected);
    }
    uint64_t value = 0;
    for (size_t k = 2; k < s.size(); ++k) {
      const char c = s[k];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return Fail(path, expected);
      value = value << 4 | static_cast<uint64_t>(d);
    }
    *out = value;
    return true;
  }

  bool Iommu(const json& j, const std::string& path, IommuParams* io) {
    if (!j.is_object()) return Fail(path, "expected a JSON object, got " + Shown(j));
    if (!Keys(j, path,
              {"comment", "model", "address_width", "pgsize_bitmap", "cache_coherency",
               "interrupt_remapping", "ht_hole"}) ||
        !Comment(j, path)) {
      return false;
    }
    if (j.contains("model")) {
      std::string m;
      if (!String(j["model"], path + "/model", &m)) return false;
      if (m == "intel-vtd") {
        io->model = IommuModel::kIntelVtd;
      } else if (m == "amd-vi") {
        io->model = IommuModel::kAmdVi;
      } else if (m == "arm-smmu") {
        io->model = IommuModel::kArmSmmu;
      } else {
        return Fail(path + "/model",
                    "expected \"intel-vtd\", \"amd-vi\" or \"arm-smmu\", got " + Shown(j["model"]));
      }
    }
    uint64_t v = 0;
    if (j.contains("address_width")) {
      if (!Uint(j["address_width"], path + "/address_width", 64, &v)) return false;
      io->address_width = static_cast<uint32_t>(v);
    }
    if (j.contains("pgsize_bitmap") &&
        !Hex(j["pgsize_bitmap"], path + "/pgsize_bitmap", 64, &io->pgsize_bitmap)) {
      return false;
    }
    return (!j.contains("cache_coherency") ||
            Bool(j["cache_coherency"], path + "/cache_coherency", &io->cache_coherency)) &&
           (!j.contains("interrupt_remapping") ||
            Bool(j["interrupt_remapping"], path + "/interrupt_remapping",
                 &io->interrupt_remapping)) &&
           (!j.contains("ht_hole") || Bool(j["ht_hole"], path + "/ht_hole", &io->ht_hole));
  }

  bool RootBus(const json& j, const std::string& path, TopologySpec* spec) {
    if (!j.is_object()) return Fail(path, "expected a JSON object, got " + Shown(j));
    if (!Keys(j, path, {"comment", "bus_id", "devices"}) || !Comment(j, path)) return false;
    if (!j.contains("bus_id")) return Fail(path + "/bus_id", "missing required key");
    std::string text, why;
    if (!String(j["bus_id"], path + "/bus_id", &text)) return false;
    core::Result<PciBusId> id = PciBusId::Parse(text, &why);
    if (!id.ok()) return Fail(path + "/bus_id", why + ", got \"" + text + "\"");
    spec->root_buses.push_back(*id);
    root_paths_.push_back(path);
    return Devices(j, path, *id, "root bus " + id->ToString(), spec);
  }

  // The "devices" array of a root bus or bridge whose bus is `bus`.
  bool Devices(const json& owner, const std::string& owner_path, PciBusId bus,
               const std::string& owner_name, TopologySpec* spec) {
    if (!owner.contains("devices")) return true;
    const std::string path = owner_path + "/devices";
    const json& list = owner["devices"];
    if (!list.is_array()) return Fail(path, "expected an array of functions, got " + Shown(list));
    for (size_t k = 0; k < list.size(); ++k) {
      if (!Function(list[k], Join(path, k), bus, owner_name, spec)) return false;
    }
    return true;
  }

  bool Function(const json& j, const std::string& path, PciBusId bus, const std::string& owner_name,
                TopologySpec* spec) {
    if (!j.is_object()) return Fail(path, "expected a JSON object, got " + Shown(j));
    if (!Keys(j, path,
              {"comment", "address", "kind", "name", "vendor", "device", "subsystem_vendor",
               "subsystem", "class", "revision", "driver", "acs", "group", "model", "params",
               "rmrr", "secondary_bus", "devices"}) ||
        !Comment(j, path)) {
      return false;
    }
    // Kind first: it decides the defaults and which keys apply.
    FunctionKind kind = FunctionKind::kEndpoint;
    if (j.contains("kind")) {
      std::string k;
      if (!String(j["kind"], path + "/kind", &k)) return false;
      bool found = false;
      for (FunctionKind c : {FunctionKind::kEndpoint, FunctionKind::kHostBridge,
                             FunctionKind::kRootPort, FunctionKind::kSwitchUpstream,
                             FunctionKind::kSwitchDownstream, FunctionKind::kPcieToPciBridge}) {
        if (k == FunctionKindName(c)) kind = c, found = true;
      }
      if (!found) {
        return Fail(path + "/kind",
                    "expected \"endpoint\", \"host-bridge\", \"root-port\", \"switch-upstream\", "
                    "\"switch-downstream\" or \"pcie-to-pci-bridge\", got " +
                        Shown(j["kind"]));
      }
    }
    const bool endpoint = kind == FunctionKind::kEndpoint;
    const bool bridge = IsBridgeKind(kind);
    for (const char* key : {"model", "params"}) {
      if (!endpoint && j.contains(key)) {
        return Fail(Join(path, key), std::string("only endpoints take \"") + key + "\", not a " +
                                         FunctionKindName(kind));
      }
    }
    for (const char* key : {"secondary_bus", "devices"}) {
      if (!bridge && j.contains(key)) {
        return Fail(Join(path, key), std::string("only bridges take \"") + key + "\", not " +
                                         (endpoint ? "an " : "a ") + FunctionKindName(kind));
      }
    }

    PciFunction f = DefaultFunction(kind);
    if (!j.contains("address")) return Fail(path + "/address", "missing required key");
    std::string text, why;
    if (!String(j["address"], path + "/address", &text)) return false;
    core::Result<PciAddress> addr = PciAddress::Parse(text, &why);
    if (!addr.ok()) return Fail(path + "/address", why + ", got \"" + text + "\"");
    f.address = *addr;
    if (f.address.domain != bus.domain || f.address.bus != bus.bus) {
      return Fail(path + "/address", text + " is not on bus " + bus.ToString() + " of the " +
                                         owner_name + " it is listed under");
    }

    uint64_t v = 0;
    struct HexField {
      const char* key;
      int bits;
      bool required;
    };
    for (const HexField& h :
         {HexField{"vendor", 16, endpoint}, HexField{"device", 16, endpoint},
          HexField{"subsystem_vendor", 16, false}, HexField{"subsystem", 16, false},
          HexField{"class", 24, endpoint}, HexField{"revision", 8, false},
          HexField{"secondary_bus", 8, bridge}}) {
      if (!j.contains(h.key)) {
        if (h.required) {
          return Fail(Join(path, h.key), std::string("missing required key for kind \"") +
                                             FunctionKindName(kind) + "\" (expected a " +
                                             std::to_string(h.bits) + "-bit hex string)");
        }
        continue;
      }
      if (!Hex(j[h.key], Join(path, h.key), h.bits, &v)) return false;
      const std::string_view key = h.key;
      if (key == "vendor") f.vendor_id = static_cast<uint16_t>(v);
      if (key == "device") f.device_id = static_cast<uint16_t>(v);
      if (key == "subsystem_vendor") f.subsystem_vendor_id = static_cast<uint16_t>(v);
      if (key == "subsystem") f.subsystem_id = static_cast<uint16_t>(v);
      if (key == "class") f.class_code = static_cast<uint32_t>(v);
      if (key == "revision") f.revision = static_cast<uint8_t>(v);
      if (key == "secondary_bus") f.secondary_bus = static_cast<uint8_t>(v);
    }
    if ((j.contains("name") && !String(j["name"], path + "/name", &f.name)) ||
        (j.contains("driver") && !String(j["driver"], path + "/driver", &f.driver)) ||
        (j.contains("model") && !String(j["model"], path + "/model", &f.model)) ||
        (j.contains("acs") && !Bool(j["acs"], path + "/acs", &f.acs))) {
      return false;
    }
    if (j.contains("group")) {
      if (!Uint(j["group"], path + "/group", kMaxGroupId, &v)) return false;
      f.pinned_group = static_cast<core::GroupId>(v);
    }
    if (j.contains("params")) {
      if (!j["params"].is_object()) {
        return Fail(path + "/params", "expected a JSON object, got " + Shown(j["params"]));
      }
      f.params_json = j["params"].dump();
    }
    if (j.contains("rmrr") && !Rmrr(j["rmrr"], path + "/rmrr", &f.rmrr)) return false;

    // Refuse a bridge whose bus does not lie above its own before recursing:
    // bus numbers only grow downstream, which also bounds the nesting depth.
    if (bridge && f.secondary_bus <= f.address.bus) {
      char what[96];
      std::snprintf(what, sizeof(what),
                    "secondary bus %02x must be above the bridge's own bus %02x", f.secondary_bus,
                    f.address.bus);
      return Fail(path + "/secondary_bus", what);
    }
    const PciBusId secondary{f.address.domain, f.secondary_bus};
    const std::string name = std::string(FunctionKindName(kind)) + " " + f.address.ToString();
    spec->functions.push_back(std::move(f));
    function_paths_.push_back(path);
    return !bridge || Devices(j, path, secondary, name, spec);
  }

  bool Rmrr(const json& j, const std::string& path, std::vector<core::IovaRange>* out) {
    const std::string expected =
        "expected an array of [start, end] pairs of hex strings like "
        "[\"0xe0000\", \"0xeffff\"]";
    if (!j.is_array()) return Fail(path, expected + ", got " + Shown(j));
    for (size_t k = 0; k < j.size(); ++k) {
      const json& pair = j[k];
      const std::string p = Join(path, k);
      if (!pair.is_array() || pair.size() != 2) return Fail(p, expected + ", got " + Shown(pair));
      uint64_t start = 0, end = 0;
      if (!Hex(pair[0], Join(p, 0), 64, &start) || !Hex(pair[1], Join(p, 1), 64, &end)) {
        return false;
      }
      out->push_back(core::IovaRange{start, end});
    }
    return true;
  }

  std::string source_;
  std::string message_;
  std::vector<std::string> root_paths_;      // parallel to spec.root_buses
  std::vector<std::string> function_paths_;  // parallel to spec.functions
};

}  // namespace

core::Result<Topology> LoadTopologyString(std::string_view json_text, std::string_view source_name,
                                          LoadError* error) {
  Loader loader(source_name);
  auto fail = [&] {
    if (error != nullptr) error->message = loader.message();
    return core::Result<Topology>(core::Error(EINVAL));
  };
  json doc;
  TopologySpec spec;
  if (!loader.Parse(json_text, &doc) || !loader.Machine(doc, &spec)) return fail();
  TopologyError build_error;
  core::Result<Topology> topology = Topology::Build(std::move(spec), &build_error);
  if (!topology.ok()) {
    loader.BuildFailed(build_error);
    return fail();
  }
  return topology;
}

core::Result<Topology> LoadTopologyFile(const std::string& path, LoadError* error) {
  auto fail = [&](int err, const std::string& what) {
    if (error != nullptr) error->message = path + ": " + what;
    return core::Result<Topology>(core::Error(err));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    return fail(err, std::string("cannot open: ") + std::strerror(err));
  }
  std::string text;
  char buf[64 * 1024];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof(buf), file)) > 0 && text.size() <= kMaxFileBytes) {
    text.append(buf, got);
  }
  const int read_err = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (read_err != 0) return fail(read_err, std::string("cannot read: ") + std::strerror(read_err));
  if (text.size() > kMaxFileBytes) return fail(EINVAL, "file is larger than 4 MiB");
  return LoadTopologyString(text, path, error);
}

}  // namespace vfiosim::sim
