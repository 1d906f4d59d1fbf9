#include "core/device.h"

#include <cctype>

namespace vfiosim::core {
namespace {

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

Result<NameMatch> MatchPciDeviceName(const Device& device, std::string_view request) {
  const std::string_view name = device.name;
  if (request.substr(0, name.size()) != name) return NameMatch::kNoMatch;
  if (request.size() == name.size()) return NameMatch::kMatch;
  std::string_view rest = request.substr(name.size());
  if (rest.front() != ' ') return NameMatch::kNoMatch;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return NameMatch::kMatch;  // "0000:00:01.0 " opens the device
  constexpr std::string_view kToken = "vf_token=";
  if (rest.substr(0, kToken.size()) == kToken) {
    std::string_view uuid = rest.substr(kToken.size());
    if (!IsUuid(uuid)) return Error(EINVAL);
    // Only a PF with VFs or a VF may be given a token; simulated devices are neither.
    if (!device.vf) return Error(EINVAL);
    return NameMatch::kMatch;
  }
  return Error(EINVAL);  // unknown option
}

}  // namespace vfiosim::core
