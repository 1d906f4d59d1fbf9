// Topology files: a machine described as JSON, turned into a Topology.
//
// Format (every key is checked; unknown keys are errors, so a typo never
// silently falls back to a default). Hex values are strings ("0x1234") so
// 64-bit addresses survive JSON tools that read numbers as doubles:
//
//   {
//     "comment": "free text, allowed on every object",
//     "profile": "default",                         // optional name
//     "iommu": {                                    // optional; defaults shown
//       "model": "intel-vtd",                       // | "amd-vi" | "arm-smmu"
//       "address_width": 48,                        // 39 | 48 | 57
//       "pgsize_bitmap": "0x40201000",
//       "cache_coherency": false,                   // enforce snoop (VFIO_DMA_CC_IOMMU)
//       "interrupt_remapping": true,
//       "ht_hole": false                            // amd-vi only
//     },
//     "dma_entry_limit": 65535,                     // optional
//     "group_base": 0,                              // optional: first group number
//     "bus": [                                      // root buses, at least one
//       { "bus_id": "0000:00",
//         "devices": [                              // functions on this bus
//           { "address": "0000:00:01.0",            // required, Linux format
//             "kind": "endpoint",                   // default; or "host-bridge",
//                                                   // "root-port", "switch-upstream",
//                                                   // "switch-downstream",
//                                                   // "pcie-to-pci-bridge"
//             "name": "QEMU edu",                   // optional label
//             "vendor": "0x1234", "device": "0x11e8",  // required for endpoints
//             "subsystem_vendor": "0x0000", "subsystem": "0x0000",
//             "class": "0x00ff00",                  // 24 bits; required for endpoints
//             "revision": "0x10",
//             "driver": "vfio-pci",                 // "" = unbound; a host driver
//                                                   // makes the group non-viable
//             "acs": false,
//             "group": 1,                           // optional pinned group number
//             "model": "edu",                       // endpoints: edu|dma-test|ring|generic
//             "params": {},                         // endpoints: passed to the model
//             "rmrr": [["0xe0000", "0xeffff"]],     // direct-mapped ranges
//             "secondary_bus": "0x01",              // bridges (not host-bridge)
//             "devices": [ ... ]                    // bridges: functions on the
//           } ] } ] }                               // secondary bus
//
// Bridge kinds default their ids to QEMU's devices (see DefaultFunction()).
// Errors give EINVAL and a message "<source>: <JSON pointer>: <what was
// expected>", e.g.
//   topo.json: /bus/0/devices/2/vendor: expected a 16-bit hex string like "0x1234", got 4660
// Nothing is built on error.
//
// Thread safety: the functions share no state.
#ifndef VFIOSIM_SIM_TOPOLOGY_LOADER_H_
#define VFIOSIM_SIM_TOPOLOGY_LOADER_H_

#include <string>
#include <string_view>

#include "core/status.h"
#include "sim/topology.h"

namespace vfiosim::sim {

struct LoadError {
  std::string message;
};

// Parses `json_text`; `source_name` (usually the file name) prefixes messages.
// EINVAL on any invalid input, with *error filled when non-null.
core::Result<Topology> LoadTopologyString(std::string_view json_text, std::string_view source_name,
                                          LoadError* error = nullptr);

// Reads and parses a file. The open/read errno (ENOENT, EACCES, EISDIR...) when
// the file cannot be read; EINVAL for invalid content or a file over 4 MiB.
core::Result<Topology> LoadTopologyFile(const std::string& path, LoadError* error = nullptr);

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_TOPOLOGY_LOADER_H_
