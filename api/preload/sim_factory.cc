#include "api/preload/sim_factory.h"

#include <cstring>

#include "sim/topology_loader.h"

namespace vfiosim::api::preload {
namespace {

void Set(std::string* out, std::string value) {
  if (out) *out = std::move(value);
}

// Empty name: nullptr without an error (the caller picks the default).
const Profile* LookupProfile(std::string_view name, std::string* error) {
  if (name.empty()) return nullptr;
  const Profile* p = FindProfile(name);
  if (!p) Set(error, "unknown profile '" + std::string(name) + "' (known: " + KnownProfileNames() + ")");
  return p;
}

// `profile` null: the topology's own profile when it names one, else the default.
std::unique_ptr<VfioSim> Build(const Profile* profile, const sim::Topology* topology, std::string* error) {
  VfioSimOptions options;
  options.profile = profile;
  if (topology != nullptr) {
    if (profile == nullptr && !topology->profile().empty() && topology->profile() != "default") {
      options.profile = LookupProfile(topology->profile(), error);
      if (options.profile == nullptr) return nullptr;
    }
    options.topology = *topology;
  }
  return std::make_unique<VfioSim>(options);
}

}  // namespace

std::string KnownProfileNames() {
  std::string out;
  for (const Profile& p : AllProfiles()) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

bool ValidateSimOptions(std::string_view profile, std::string_view topology_path, std::string* error) {
  if (!profile.empty() && !LookupProfile(profile, error)) return false;
  if (topology_path.empty()) return true;
  sim::LoadError load_error;
  core::Result<sim::Topology> t = sim::LoadTopologyFile(std::string(topology_path), &load_error);
  if (!t.ok()) {
    std::string msg = load_error.message;
    if (msg.empty()) msg = std::string(topology_path) + ": " + std::strerror(t.err());
    Set(error, "bad topology: " + msg);
    return false;
  }
  if (profile.empty() && !t->profile().empty() && t->profile() != "default" && !LookupProfile(t->profile(), error)) {
    return false;
  }
  return true;
}

std::unique_ptr<VfioSim> MakeSimFromOptions(std::string_view profile, std::string_view topology_path,
                                            std::string* error) {
  const Profile* p = LookupProfile(profile, error);
  if (!p && !profile.empty()) return nullptr;
  if (topology_path.empty()) return Build(p, nullptr, error);
  sim::LoadError load_error;
  core::Result<sim::Topology> t = sim::LoadTopologyFile(std::string(topology_path), &load_error);
  if (!t.ok()) {
    std::string msg = load_error.message;
    if (msg.empty()) msg = std::string(topology_path) + ": " + std::strerror(t.err());
    Set(error, "bad topology: " + msg);
    return nullptr;
  }
  return Build(p, &*t, error);
}

std::unique_ptr<VfioSim> MakeSimFromTopologyText(std::string_view profile, std::string_view topology_json,
                                                 std::string* error) {
  const Profile* p = LookupProfile(profile, error);
  if (!p && !profile.empty()) return nullptr;
  if (topology_json.empty()) return Build(p, nullptr, error);
  sim::LoadError load_error;
  core::Result<sim::Topology> t = sim::LoadTopologyString(topology_json, "topology", &load_error);
  if (!t.ok()) {
    Set(error, "bad topology: " + (load_error.message.empty() ? std::string(std::strerror(t.err()))
                                                               : load_error.message));
    return nullptr;
  }
  return Build(p, &*t, error);
}

}  // namespace vfiosim::api::preload
