#include "sim/topology_render.h"

#include <cstdio>
#include <string_view>
#include <vector>

#include "sim/reserved_regions.h"

namespace vfiosim::sim {
namespace {

std::string Label(const PciFunction& f) {
  if (!f.name.empty()) return f.name;
  return f.kind == FunctionKind::kEndpoint ? f.model : FunctionKindName(f.kind);
}

std::string Ids(const PciFunction& f) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x:%04x", f.vendor_id, f.device_id);
  return buf;
}

std::string DriverText(const PciFunction& f) { return f.driver.empty() ? "none" : f.driver; }

// Draws the tree the way lspci does: one line buffer is reused; after a line
// is printed, its prefix is rewritten so '+' and '|' become '|' (a sibling
// follows further down) and everything else a blank, and the next device
// overwrites the buffer from its own column on.
class TreeDrawer {
 public:
  explicit TreeDrawer(const Topology& t) : t_(t) {}

  std::string Draw() {
    for (const PciBusId& root : t_.root_buses()) {
      line_.clear();
      char head[24];
      std::snprintf(head, sizeof(head), "-[%s]-", root.ToString().c_str());
      const size_t p = Put(0, head);
      DrawBus(Children(-1, root), p);
    }
    return out_;
  }

 private:
  std::vector<size_t> Children(int parent, PciBusId bus) const {
    std::vector<size_t> kids;
    const std::vector<PciFunction>& fs = t_.functions();
    for (size_t i = 0; i < fs.size(); ++i) {
      if (fs[i].parent == parent && fs[i].address.domain == bus.domain &&
          fs[i].address.bus == bus.bus) {
        kids.push_back(i);  // functions() is already in address order per bus
      }
    }
    return kids;
  }

  // Writes `s` at column `pos`, returns the column after it.
  size_t Put(size_t pos, std::string_view s) {
    if (line_.size() < pos + s.size()) line_.resize(pos + s.size(), ' ');
    line_.replace(pos, s.size(), s);
    return pos + s.size();
  }

  void Emit(size_t end) {
    out_.append(line_, 0, end);
    out_ += '\n';
    for (size_t k = 0; k < end; ++k) line_[k] = (line_[k] == '+' || line_[k] == '|') ? '|' : ' ';
  }

  void DrawBus(const std::vector<size_t>& kids, size_t p) {
    if (kids.empty()) {
      Emit(p);
    } else if (kids.size() == 1) {
      DrawDevice(kids[0], Put(p, "--"));
    } else {
      for (size_t k = 0; k < kids.size(); ++k) {
        DrawDevice(kids[k], Put(p, k + 1 < kids.size() ? "+-" : "\\-"));
      }
    }
  }

  void DrawDevice(size_t i, size_t p) {
    const PciFunction& f = t_.functions()[i];
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%02x.%x", f.address.device, f.address.function);
    p = Put(p, buf);
    if (IsBridgeKind(f.kind)) {
      if (f.secondary_bus == f.subordinate_bus) {
        std::snprintf(buf, sizeof(buf), "-[%02x]--", f.secondary_bus);
      } else {
        std::snprintf(buf, sizeof(buf), "-[%02x-%02x]--", f.secondary_bus, f.subordinate_bus);
      }
      p = Put(p, buf);
      DrawBus(Children(static_cast<int>(i), PciBusId{f.address.domain, f.secondary_bus}), p);
      return;
    }
    p = Put(p, "  " + Ids(f) + " " + Label(f) + "  driver=" + DriverText(f) +
                   "  group=" + std::to_string(f.group));
    Emit(p);
  }

  const Topology& t_;
  std::string line_;
  std::string out_;
};

}  // namespace

std::string RenderPciTree(const Topology& topology) { return TreeDrawer(topology).Draw(); }

std::string RenderIommuGroups(const Topology& topology) {
  std::string out = std::string("IOMMU groups (") + IommuModelName(topology.iommu().model) + ", " +
                    std::to_string(topology.iommu().address_width) + "-bit):\n";
  for (const IommuGroup& g : topology.groups()) {
    out += "group " + std::to_string(g.id);
    if (!g.viable) {
      std::string why;
      for (const PciAddress& a : g.devices) {
        const PciFunction* f = topology.Find(a);
        if (!DriverAllowsUserDma(f->driver)) {
          why += (why.empty() ? "" : ", ") + a.ToString() + " bound to " + f->driver;
        }
      }
      out += " (not viable: " + why + ")";
    }
    out += ":\n";
    for (const PciAddress& a : g.devices) {
      const PciFunction* f = topology.Find(a);
      // Bridges without a name would only repeat their kind.
      const std::string label =
          f->name.empty() && f->kind != FunctionKind::kEndpoint ? "" : " " + Label(*f);
      out += "  " + a.ToString() + "  " + Ids(*f) + label + "  " + FunctionKindName(f->kind) +
             "  driver=" + DriverText(*f) + "\n";
    }
    out += "  reserved_regions:\n";
    const std::string regions = FormatReservedRegions(GroupReservedRegions(topology, g.id));
    size_t start = 0;
    while (start < regions.size()) {
      const size_t nl = regions.find('\n', start);
      out += "    " + regions.substr(start, nl - start + 1);
      start = nl + 1;
    }
  }
  return out;
}

std::string RenderTree(const Topology& topology) {
  return RenderPciTree(topology) + "\n" + RenderIommuGroups(topology);
}

}  // namespace vfiosim::sim
