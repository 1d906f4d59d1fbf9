#include "api/test_channel.h"

#include "core/kernel.h"

namespace vfiosim::api {

template <typename F>
auto TestChannel::WithIommu(core::GroupId group, F f)
    -> std::optional<decltype(f(std::declval<core::Type1Iommu&>()))> {
  std::shared_ptr<core::Container> c = sim_.kernel().GroupContainer(group);
  if (!c) return std::nullopt;
  core::MutexLock lock(c->mu());
  core::Type1Iommu* iommu = c->iommu();
  if (iommu == nullptr) return std::nullopt;
  return f(*iommu);
}

sim::IommuDmaPort& TestChannel::Port(core::GroupId group) {
  // The port of the group's first simulated device, so that test-channel DMA
  // and the device's own DMA share one fault queue; a private port otherwise.
  sim::Machine& machine = sim_.machine();
  for (size_t i = 0; i < machine.device_count(); ++i) {
    sim::MachineDevice& d = machine.DeviceAt(static_cast<uint32_t>(i));
    if (d.group == group && d.dma) return *d.dma;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto& port = ports_[group];
  if (!port) port = std::make_unique<sim::IommuDmaPort>(&sim_.kernel(), group);
  return *port;
}

sim::DmaResult TestChannel::DmaRead(core::GroupId group, uint64_t iova, void* dst, size_t len,
                                    core::Pasid pasid) {
  return Port(group).Read(iova, dst, len, pasid);
}

sim::DmaResult TestChannel::DmaWrite(core::GroupId group, uint64_t iova, const void* src, size_t len,
                                     core::Pasid pasid) {
  return Port(group).Write(iova, src, len, pasid);
}

std::optional<core::DmaTranslation> TestChannel::Translate(core::GroupId group, uint64_t iova,
                                                           uint8_t access, core::Pasid pasid) {
  return WithIommu(group, [&](core::Type1Iommu& iommu) { return iommu.TranslateDma(pasid, iova, access); });
}

std::vector<core::PteInfo> TestChannel::PteChain(core::GroupId group, uint64_t iova) {
  auto chain = WithIommu(group, [&](core::Type1Iommu& iommu) { return iommu.page_table().EntryChain(iova); });
  return chain.value_or(std::vector<core::PteInfo>{});
}

std::optional<TableStats> TestChannel::Tables(core::GroupId group) {
  return WithIommu(group, [](core::Type1Iommu& iommu) {
    return TableStats{iommu.page_table().table_count(), iommu.page_table().table_bytes()};
  });
}

std::optional<core::IotlbStats> TestChannel::Iotlb(core::GroupId group) {
  return WithIommu(group, [](core::Type1Iommu& iommu) { return iommu.iotlb().stats(); });
}

void TestChannel::ResetIotlbStats(core::GroupId group) {
  (void)WithIommu(group, [](core::Type1Iommu& iommu) {
    iommu.iotlb().ResetStats();
    return 0;
  });
}

}  // namespace vfiosim::api
