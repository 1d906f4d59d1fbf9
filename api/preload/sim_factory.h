// MakeSimFromOptions: the one place where the preload shim, `vfiosim run` and
// the C API turn user options (a profile name, a topology) into a simulated
// machine. Keeping it in one function lets the topology loader be wired in
// one spot for all three.
//
// The profile is looked up with FindProfile; empty means the topology's own
// "profile" key when it names one (other than "default"), else linux-6.1. A
// topology is read and validated with sim/topology_loader (a bad file fails
// with the loader's message) and becomes the machine (VfioSimOptions::topology);
// without one the machine is the built-in default machine.
//
// Errors never abort: nullptr and a one-line message in *error.
// Thread safety: pure function of its arguments (plus reading the file).
#ifndef VFIOSIM_API_PRELOAD_SIM_FACTORY_H_
#define VFIOSIM_API_PRELOAD_SIM_FACTORY_H_

#include <memory>
#include <string>
#include <string_view>

#include "api/vfio_sim.h"

namespace vfiosim::api::preload {

// `topology_path` empty: the default machine.
std::unique_ptr<VfioSim> MakeSimFromOptions(std::string_view profile, std::string_view topology_path,
                                            std::string* error = nullptr);
// Same, with the topology given as JSON text (the C API); empty: the default machine.
std::unique_ptr<VfioSim> MakeSimFromTopologyText(std::string_view profile, std::string_view topology_json,
                                                 std::string* error = nullptr);

// "linux-6.1, linux-6.18, ..." for messages.
std::string KnownProfileNames();
// Checks the options without building anything (what `vfiosim run` validates
// before it starts the command). False with *error set when they are bad.
bool ValidateSimOptions(std::string_view profile, std::string_view topology_path, std::string* error);

}  // namespace vfiosim::api::preload

#endif  // VFIOSIM_API_PRELOAD_SIM_FACTORY_H_
